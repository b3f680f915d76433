#!powershell
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Host side of meddev.hardening.baseline (contract: docs/host-contract.md).
# gather: the catalog's registry values with their types, the security template (secedit /export:
# security policy and user rights), the audit policy (auditpol /get /r), services, hotfixes, OS build
# and update revision (UBR), BitLocker on the system drive, what domain Group Policy sets (RSoP) and
# whether the host is domain-joined, and the check-only evidence (SRP, patch currency, application
# control, BitLocker per fixed drive, event forwarding, time status) - one call.
# apply: one batch per mechanism - registry values, one secedit /configure template (rendered
# on the controller), one auditpol /restore file, services. External tools get their arguments
# through ArgvParser (quoted as data), never through a command string.

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ansible_collections.meddev.hardening.plugins.module_utils.MeddevHost
#Requires -Module Ansible.ModuleUtils.ArgvParser
#Requires -Module Ansible.ModuleUtils.CommandUtil

$spec = @{
    options = @{
        phase = @{ type = 'str'; required = $true; choices = 'gather', 'apply' }
        registry_values = @{ type = 'list'; elements = 'dict'; default = @() }
        services = @{ type = 'list'; elements = 'str'; default = @() }
        changes = @{ type = 'list'; elements = 'dict'; default = @() }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

function ConvertTo-ProviderPath {
    # 'HKLM\SOFTWARE\...' -> 'HKLM:\SOFTWARE\...' for the registry provider.
    # Only HKLM, as the gather reads it (the provider would also take HKCU: the SSH/WinRM user's hive).
    param([string]$Path)
    $hive, $rest = $Path.Split('\', 2)
    if ($hive -ne 'HKLM') { throw ('registry path {0}: only HKLM is supported (docs/host-contract.md)' -f $Path) }
    '{0}:\{1}' -f $hive, $rest
}

function Invoke-Tool {
    param([string[]]$Arguments)
    $outcome = Run-Command -command (Argv-ToString -arguments $Arguments)
    if ($outcome.rc -ne 0) {
        throw ('{0} failed (exit {1}): {2}{3}' -f $Arguments[0], $outcome.rc, $outcome.stdout, $outcome.stderr)
    }
    $outcome.stdout
}

function New-TempFile {
    param([string]$Extension)
    Join-Path ([System.IO.Path]::GetTempPath()) ('meddev-{0}{1}' -f [guid]::NewGuid(), $Extension)
}

function Get-SystemDriveBitLocker {
    # The system drive's BitLocker state, or why it cannot be read. Get-BitLockerVolume
    # (docset/winserver2019-ps/bitlocker/Get-BitLockerVolume.md: -MountPoint <String[]>; ProtectionStatus,
    # EncryptionMethod) reads the BitLocker WMI provider: where the module is present but the provider
    # or feature is not, or access is denied, it throws. With ErrorActionPreference = Stop (Ansible's
    # module wrapper) -ErrorAction SilentlyContinue does not catch that, and the whole gather stopped.
    if (-not (Get-Command -Name Get-BitLockerVolume -ErrorAction SilentlyContinue)) {
        return @{ error = 'Get-BitLockerVolume is not available (the BitLocker feature is not installed)' }
    }
    try {
        $volume = Get-BitLockerVolume -MountPoint $env:SystemDrive -ErrorAction Stop
    }
    catch {
        return @{ error = ('Get-BitLockerVolume -MountPoint {0} failed: {1}' -f $env:SystemDrive, $_.Exception.Message) }
    }
    if ($null -eq $volume) {
        return @{ error = ('Get-BitLockerVolume returned no volume for {0}' -f $env:SystemDrive) }
    }
    @{ protection_status = [string]$volume.ProtectionStatus; encryption_method = [string]$volume.EncryptionMethod }
}

function Get-OsRevision {
    # Build and update build revision (UBR) from HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion:
    # CurrentBuildNumber (REG_SZ, CurrentBuild on older builds) and UBR (REG_DWORD, absent before
    # Windows 8.1 / Windows 10). MS17-010 is judged by them: Get-HotFix lists only the latest
    # cumulative update. Read only; a missing value is reported as null, never guessed.
    $key = Get-Item -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
    $text = [string]$key.GetValue('CurrentBuildNumber')
    if (-not $text) { $text = [string]$key.GetValue('CurrentBuild') }
    $build = 0
    if (-not [int]::TryParse($text, [ref]$build)) { $build = [System.Environment]::OSVersion.Version.Build }
    $ubr = $key.GetValue('UBR')
    @{ build = $build; ubr = $(if ($null -ne $ubr) { [int]$ubr } else { $null }) }
}

function Open-RegistryKeyReadOnly {
    # The key of a catalog path ('HKLM\SOFTWARE\...', the only hive the contract names), opened
    # read-only: RegistryKey.OpenSubKey(String, Boolean) with writable = false (learn.microsoft.com
    # dotnet/api/microsoft.win32.registrykey.opensubkey). $null when the key is absent or unreadable
    # (the value is then reported absent, as Get-Item -ErrorAction SilentlyContinue did).
    param([string]$Path)
    $hive, $subKey = $Path.Split('\', 2)
    if (@('HKLM', 'HKEY_LOCAL_MACHINE') -notcontains $hive) {
        throw ('registry path {0}: only HKLM is supported (docs/host-contract.md)' -f $Path)
    }
    try { return [Microsoft.Win32.Registry]::LocalMachine.OpenSubKey($subKey, $false) }
    catch [System.Security.SecurityException] { return $null }
}

function Get-RegistryEntry {
    # One value as the contract returns it: @{ kind; value }, or $null when absent.
    # GetValue(name, default, DoNotExpandEnvironmentNames) keeps REG_EXPAND_SZ text as stored
    # (dotnet/api/microsoft.win32.registryvalueoptions); GetValueKind names the type
    # (dotnet/api/microsoft.win32.registrykey.getvaluekind). GetValue returns REG_DWORD as Int32,
    # so 0x80000000 and above come back negative: reported unsigned, as regedit shows them.
    param([Microsoft.Win32.RegistryKey]$Key, [string]$Name)
    $data = $Key.GetValue($Name, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
    if ($null -eq $data) { return $null }
    $kind = [string]$Key.GetValueKind($Name)
    if ($kind -eq 'DWord') {
        $number = [int64]$data
        if ($number -lt 0) { $number = $number + 4294967296 }
        return @{ kind = 'dword'; value = $number }
    }
    if ($kind -eq 'QWord') { return @{ kind = 'qword'; value = [int64]$data } }
    if ($kind -eq 'String') { return @{ kind = 'string'; value = [string]$data } }
    if ($kind -eq 'ExpandString') { return @{ kind = 'expand_string'; value = [string]$data } }
    if ($kind -eq 'MultiString') { return @{ kind = 'multi_string'; value = [string[]]@($data) } }
    # Binary, and REG_NONE / other kinds (GetValue gives their bytes): lowercase hex, no separators.
    $hex = [System.BitConverter]::ToString([byte[]]$data).Replace('-', '').ToLowerInvariant()
    return @{ kind = 'binary'; value = $hex }
}

function Get-RegistryState {
    # registry and registry_kinds for the requested values that exist: each key opened once.
    $values = @{}
    $kinds = @{}
    $keys = @{}
    try {
        foreach ($item in $module.Params.registry_values) {
            if (-not $keys.ContainsKey($item.path)) { $keys[$item.path] = Open-RegistryKeyReadOnly -Path $item.path }
            $key = $keys[$item.path]
            if ($null -eq $key) { continue }
            $entry = Get-RegistryEntry -Key $key -Name $item.name
            if ($null -eq $entry) { continue }
            if (-not $values.ContainsKey($item.path)) {
                $values[$item.path] = @{}
                $kinds[$item.path] = @{}
            }
            $values[$item.path][$item.name] = $entry.value
            $kinds[$item.path][$item.name] = $entry.kind
        }
    }
    finally {
        foreach ($key in $keys.Values) { if ($null -ne $key) { $key.Dispose() } }
    }
    @{ registry = $values; registry_kinds = $kinds }
}

function ConvertTo-SidReference {
    # An account of RSOP_UserPrivilegeRight.AccountList as secedit writes it: "*S-1-...". Names are
    # translated (NTAccount.Translate, dotnet/api/system.security.principal.ntaccount.translate);
    # one that does not map (IdentityNotMappedException) is kept as written.
    param([string]$Account)
    if ($Account.StartsWith('*')) { return $Account }
    if ($Account -match '^S-1-\d') { return ('*{0}' -f $Account) }
    try {
        $sid = ([System.Security.Principal.NTAccount]::new($Account)).Translate([System.Security.Principal.SecurityIdentifier])
        return ('*{0}' -f $sid.Value)
    }
    catch { return $Account }
}

function ConvertFrom-RsopRegistryData {
    # RSOP_RegistryPolicySetting.value is the raw data (uint8[]) of type valueType (REG_* codes;
    # learn.microsoft.com previous-versions/windows/desktop/policy/rsop-registrypolicysetting).
    param([int]$Type, [byte[]]$Bytes)
    if ($null -eq $Bytes) { $Bytes = [byte[]]@() }
    if ($Type -eq 4 -and $Bytes.Length -ge 4) { return [int64][System.BitConverter]::ToUInt32($Bytes, 0) }
    if ($Type -eq 11 -and $Bytes.Length -ge 8) { return [System.BitConverter]::ToInt64($Bytes, 0) }
    if ($Type -eq 1 -or $Type -eq 2) { return [System.Text.Encoding]::Unicode.GetString($Bytes).TrimEnd([char]0) }
    if ($Type -eq 7) {
        $text = [System.Text.Encoding]::Unicode.GetString($Bytes).TrimEnd([char]0)
        if ($text.Length -eq 0) { return ,([string[]]@()) }
        return ,([string[]]$text.Split([char]0))
    }
    return [System.BitConverter]::ToString($Bytes).Replace('-', '').ToLowerInvariant()
}

function ConvertFrom-TemplateRegistryData {
    # RSOP_RegistryValue.Data: the text after "<type>," of a template's [Registry Values] line
    # (learn.microsoft.com previous-versions/aa375052: Type 1 SZ, 2 EXPAND_SZ, 3 BINARY, 4 DWORD, 7 MULTI_SZ).
    param([int]$Type, [string]$Data)
    if ($Type -eq 4) {
        $number = [int64]0
        if ([int64]::TryParse($Data, [ref]$number)) { return $number }
        return $Data
    }
    if ($Type -eq 7) {
        if ($Data.Length -eq 0) { return ,([string[]]@()) }
        return ,([string[]]$Data.Split(','))
    }
    return $Data.Trim('"')
}

function Get-RsopSetting {
    # The winning setting per key (precedence 1, RSOP_PolicySetting) of domain GPOs: LocalGPO is the
    # local Group Policy object, not domain policy (rsop-policysetting: GPOID).
    param([string]$ClassName)
    $found = Get-CimInstance -Namespace 'root\rsop\computer' -ClassName $ClassName -Filter 'precedence = 1' -ErrorAction Stop
    return ,@($found | Where-Object { $_.GPOID -ne 'LocalGPO' })
}

function Get-AuditCsvPolicy {
    # Advanced audit policy from Group Policy has no RSoP class: the audit configuration extension
    # copies each GPO's Audit\audit.csv ([MS-GPAC] 3.2.5) and keeps the merged result in
    # %SystemRoot%\security\audit\audit.csv. "Setting Value": 0 none, 1 success, 2 failure, 3 both.
    $audit = @{}
    $path = Join-Path $env:SystemRoot 'security\audit\audit.csv'
    if (-not (Test-Path -LiteralPath $path -PathType Leaf)) { return $audit }
    $names = @{ '0' = 'no_auditing'; '1' = 'success'; '2' = 'failure'; '3' = 'success_and_failure' }
    foreach ($row in @([System.IO.File]::ReadAllLines($path) | ConvertFrom-Csv)) {
        $guid = [string]$row.'Subcategory GUID'
        $setting = ([string]$row.'Setting Value').Trim()
        if ($guid -and $names.ContainsKey($setting)) { $audit[$guid.ToUpperInvariant()] = $names[$setting] }
    }
    $audit
}

function Get-GroupPolicyState {
    # What domain Group Policy sets, from the RSoP logging namespace root\rsop\computer. Never fails
    # the gather: the namespace absent (no Group Policy processed) is no data; any other failure is
    # reported in error with empty maps.
    param([bool]$PartOfDomain)
    $empty = @{ registry = @{}; secpol = @{}; user_rights = @{}; audit = @{}; error = '' }
    $registry = @{}
    $secpol = @{}
    $rights = @{}
    try {
        try { $policies = Get-RsopSetting -ClassName 'RSOP_RegistryPolicySetting' }
        catch {
            # WBEM_E_INVALID_NAMESPACE (0x8004100E): CimException.NativeErrorCode InvalidNamespace.
            if ([string]$_.Exception.NativeErrorCode -eq 'InvalidNamespace') { return $empty }
            throw
        }
        foreach ($policy in $policies) {
            # "**del.<name>"-style commands are not values (registry.pol syntax); deleted = the policy removes it.
            if ([string]$policy.valueName -like '[*][*]*') { continue }
            # registryKey is under HKLM for computer policy; the page does not say whether a hive prefix
            # is included, so one is dropped if present.
            $path = 'HKLM\{0}' -f ([string]$policy.registryKey -replace '^(HKLM|HKEY_LOCAL_MACHINE|MACHINE)\\', '')
            if (-not $registry.ContainsKey($path)) { $registry[$path] = @{} }
            if ($policy.deleted) { $registry[$path][$policy.valueName] = $null }
            else { $registry[$path][$policy.valueName] = ConvertFrom-RsopRegistryData -Type $policy.valueType -Bytes $policy.value }
        }
        foreach ($value in (Get-RsopSetting -ClassName 'RSOP_RegistryValue')) {
            # Path "MACHINE\System\...\<value name>", as in a template's [Registry Values].
            $full = [string]$value.Path
            $keyPath = $full.Substring($full.IndexOf('\') + 1)
            $cut = $keyPath.LastIndexOf('\')
            $name = $keyPath.Substring($cut + 1)
            $path = 'HKLM\{0}' -f $keyPath.Substring(0, $cut)
            if (-not $registry.ContainsKey($path)) { $registry[$path] = @{} }
            $registry[$path][$name] = ConvertFrom-TemplateRegistryData -Type $value.Type -Data $value.Data
        }
        foreach ($setting in (Get-RsopSetting -ClassName 'RSOP_SecuritySettingNumeric')) { $secpol[$setting.KeyName] = [int64]$setting.Setting }
        foreach ($setting in (Get-RsopSetting -ClassName 'RSOP_SecuritySettingBoolean')) { $secpol[$setting.KeyName] = [bool]$setting.Setting }
        foreach ($setting in (Get-RsopSetting -ClassName 'RSOP_SecuritySettingString')) { $secpol[$setting.KeyName] = [string]$setting.Setting }
        foreach ($right in (Get-RsopSetting -ClassName 'RSOP_UserPrivilegeRight')) {
            $rights[$right.UserRight] = [string[]]@(foreach ($account in @($right.AccountList)) {
                    if ($account) { ConvertTo-SidReference -Account $account }
                })
        }
        $audit = @{}
        if ($PartOfDomain) { $audit = Get-AuditCsvPolicy }
    }
    catch {
        $empty.error = 'Group Policy (RSoP root\rsop\computer) could not be read: {0}' -f $_.Exception.Message
        return $empty
    }
    @{ registry = $registry; secpol = $secpol; user_rights = $rights; audit = $audit; error = '' }
}

function Get-BaselineState {
    $read = Get-RegistryState
    $inf = New-TempFile -Extension '.inf'
    try {
        # /areas takes several areas separated by spaces (windows-commands/secedit-export.md);
        # SECURITYPOLICY holds [System Access], [Event Audit], [Registry Values]; USER_RIGHTS [Privilege Rights].
        $null = Invoke-Tool -Arguments @('secedit.exe', '/export', '/cfg', $inf, '/areas', 'SECURITYPOLICY', 'USER_RIGHTS', '/quiet')
        $secpol = [System.IO.File]::ReadAllText($inf)
    }
    finally { Remove-Item -LiteralPath $inf -Force -ErrorAction SilentlyContinue }
    $services = @{}
    foreach ($service in Get-Service -Name $module.Params.services -ErrorAction SilentlyContinue) {
        $services[$service.Name] = @{ Status = [string]$service.Status; StartType = [string]$service.StartType }
    }
    $bitlocker = Get-SystemDriveBitLocker
    $os = Get-OsRevision
    # Win32_ComputerSystem.PartOfDomain (learn.microsoft.com windows/win32/cimwin32prov/win32-computersystem).
    $partOfDomain = [bool](Get-CimInstance -ClassName 'Win32_ComputerSystem' -Property 'PartOfDomain' -ErrorAction Stop).PartOfDomain
    @{
        registry = $read.registry
        registry_kinds = $read.registry_kinds
        secpol_inf = $secpol
        auditpol_csv = Invoke-Tool -Arguments @('auditpol.exe', '/get', '/category:*', '/r')
        services = $services
        hotfixes = @(Get-HotFix -ErrorAction SilentlyContinue | ForEach-Object { $_.HotFixID })
        os_build = $os.build
        os_ubr = $os.ubr
        bitlocker = $bitlocker
        gpo = Get-GroupPolicyState -PartOfDomain $partOfDomain
        part_of_domain = $partOfDomain
        evidence = Get-EvidenceState
    }
}

# -- check-only evidence (issue 14): read in the one gather, never changed; judged by the controller
# (plugins/module_utils/baseline_evidence.py). Each part catches its own failure and reports it in
# error, so one unreadable source never stops the gather (as Get-SystemDriveBitLocker).

function Get-RegistryValueOrNull {
    param([string]$Path, [string]$Name)
    $key = Open-RegistryKeyReadOnly -Path $Path
    if ($null -eq $key) { return $null }
    try {
        $entry = Get-RegistryEntry -Key $key -Name $Name
        if ($null -eq $entry) { return $null }
        return $entry.value
    }
    finally { $key.Dispose() }
}

function Get-SrpEvidence {
    # Software Restriction Policy: HKLM\SOFTWARE\Policies\Microsoft\Windows\Safer\CodeIdentifiers,
    # DefaultLevel and path rules CodeIdentifiers\<level>\Paths\{guid} ItemData (learn.microsoft.com
    # windows-server/identity/software-restriction-policies/software-restriction-policies-technical-overview).
    try {
        $root = 'HKLM\SOFTWARE\Policies\Microsoft\Windows\Safer\CodeIdentifiers'
        $level = $null
        $raw = Get-RegistryValueOrNull -Path $root -Name 'DefaultLevel'
        if ($raw -is [int64]) { $level = [int64]$raw }  # REG_DWORD; any other kind is not a level Windows reads
        $rules = [System.Collections.Generic.List[object]]::new()
        $key = Open-RegistryKeyReadOnly -Path $root
        if ($null -ne $key) {
            try {
                foreach ($levelName in $key.GetSubKeyNames()) {
                    if ($levelName -notmatch '^\d+$') { continue }
                    $paths = Open-RegistryKeyReadOnly -Path ('{0}\{1}\Paths' -f $root, $levelName)
                    if ($null -eq $paths) { continue }
                    try {
                        foreach ($ruleName in $paths.GetSubKeyNames()) {
                            $data = Get-RegistryValueOrNull -Path ('{0}\{1}\Paths\{2}' -f $root, $levelName, $ruleName) -Name 'ItemData'
                            if ($null -ne $data) { $rules.Add(@{ path = [string]$data; level = [int]$levelName }) }
                        }
                    }
                    finally { $paths.Dispose() }
                }
            }
            finally { $key.Dispose() }
        }
        return @{ configured = ($null -ne $level); default_level = $level; path_rules = @($rules) }
    }
    catch { return @{ error = ('Software Restriction Policy: {0}' -f $_.Exception.Message) } }
}

function Get-PatchEvidence {
    # Newest update by Get-HotFix InstalledOn (reference/5.1/Microsoft.PowerShell.Management/Get-HotFix.md;
    # Win32_QuickFixEngineering). Restart pending: the servicing stack's RebootPending key, Windows
    # Update's RebootRequired key and Session Manager PendingFileRenameOperations (MoveFileEx
    # MOVEFILE_DELAY_UNTIL_REBOOT, learn.microsoft.com windows/win32/api/winbase/nf-winbase-movefileexa).
    # WSUS: WindowsUpdate policy WUServer (learn.microsoft.com windows/deployment/update/waas-wu-settings).
    try {
        $dates = @(Get-HotFix -ErrorAction Stop | Where-Object { $null -ne $_.InstalledOn } | ForEach-Object { $_.InstalledOn })
        $newest = $null
        if ($dates.Count -gt 0) { $newest = ($dates | Sort-Object -Descending | Select-Object -First 1).ToString('yyyy-MM-dd') }
        $pending = [System.Collections.Generic.List[string]]::new()
        foreach ($marker in @(
                'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending',
                'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired')) {
            $key = Open-RegistryKeyReadOnly -Path $marker
            if ($null -ne $key) {
                $key.Dispose()
                $pending.Add($marker.Substring($marker.LastIndexOf('\') + 1))
            }
        }
        $renames = Get-RegistryValueOrNull -Path 'HKLM\SYSTEM\CurrentControlSet\Control\Session Manager' -Name 'PendingFileRenameOperations'
        if ($null -ne $renames -and @($renames).Count -gt 0) { $pending.Add('PendingFileRenameOperations') }
        $server = Get-RegistryValueOrNull -Path 'HKLM\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate' -Name 'WUServer'
        return @{ installed_on = $newest; today = (Get-Date).ToString('yyyy-MM-dd'); pending_restart = @($pending)
            wsus_server = $(if ($null -ne $server) { [string]$server } else { '' }) }
    }
    catch { return @{ error = ('patch state: {0}' -f $_.Exception.Message) } }
}

function Get-AppControlEvidence {
    # AppLocker: Get-AppLockerPolicy -Effective -Xml (docset/winserver2016-ps/AppLocker/Get-AppLockerPolicy.md),
    # RuleCollection Type / EnforcementMode. WDAC: Win32_DeviceGuard in root\Microsoft\Windows\DeviceGuard,
    # CodeIntegrityPolicyEnforcementStatus 0 off, 1 audit, 2 enforced (learn.microsoft.com windows/security/
    # hardware-security/enable-virtualization-based-protection-of-code-integrity).
    try {
        $applocker = @{}
        if (Get-Command -Name Get-AppLockerPolicy -ErrorAction SilentlyContinue) {
            $xml = [xml](Get-AppLockerPolicy -Effective -Xml -ErrorAction Stop)
            foreach ($collection in @($xml.AppLockerPolicy.RuleCollection)) {
                if ($null -ne $collection) { $applocker[[string]$collection.Type] = [string]$collection.EnforcementMode }
            }
        }
        $wdac = $null
        try {
            $guard = Get-CimInstance -Namespace 'root\Microsoft\Windows\DeviceGuard' -ClassName 'Win32_DeviceGuard' -ErrorAction Stop
            if ($null -ne $guard.CodeIntegrityPolicyEnforcementStatus) { $wdac = [int]$guard.CodeIntegrityPolicyEnforcementStatus }
        }
        catch { $wdac = $null }  # the class is absent before Windows 10 / Server 2016: unknown, not off
        return @{ applocker = $applocker; wdac = $wdac }
    }
    catch { return @{ error = ('application control: {0}' -f $_.Exception.Message) } }
}

function Get-FixedDriveBitLocker {
    # Every fixed drive (Win32_LogicalDisk DriveType 3, learn.microsoft.com windows/win32/cimwin32prov/
    # win32-logicaldisk) by Get-BitLockerVolume -MountPoint; removable-media policy: removable disks
    # class {53f5630d-b6bf-11d0-94f2-00a0c91efb8b} Deny_Write (Removable Storage Access policy) and
    # FVE RDVDenyWriteAccess ("Deny write access to removable drives not protected by BitLocker").
    if (-not (Get-Command -Name Get-BitLockerVolume -ErrorAction SilentlyContinue)) {
        return @{ error = 'Get-BitLockerVolume is not available (the BitLocker feature is not installed)' }
    }
    try {
        $volumes = [System.Collections.Generic.List[object]]::new()
        foreach ($disk in @(Get-CimInstance -ClassName 'Win32_LogicalDisk' -Filter 'DriveType = 3' -ErrorAction Stop)) {
            $mount = [string]$disk.DeviceID
            try {
                $volume = Get-BitLockerVolume -MountPoint $mount -ErrorAction Stop
                $volumes.Add(@{ mount_point = $mount; protection_status = [string]$volume.ProtectionStatus
                        encryption_method = [string]$volume.EncryptionMethod })
            }
            catch { $volumes.Add(@{ mount_point = $mount; error = $_.Exception.Message }) }
        }
        $denyWrite = Get-RegistryValueOrNull -Path 'HKLM\SOFTWARE\Policies\Microsoft\Windows\RemovableStorageDevices\{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}' -Name 'Deny_Write'
        $denyPlain = Get-RegistryValueOrNull -Path 'HKLM\SYSTEM\CurrentControlSet\Policies\Microsoft\FVE' -Name 'RDVDenyWriteAccess'
        return @{ volumes = @($volumes); removable = @{ deny_write = ($denyWrite -eq 1); deny_unencrypted_write = ($denyPlain -eq 1) } }
    }
    catch { return @{ error = ('fixed drives: {0}' -f $_.Exception.Message) } }
}

function Get-LogForwardingEvidence {
    # WEF: the SubscriptionManager policy values (learn.microsoft.com windows/security/operating-system-security/
    # device-management/use-windows-event-forwarding-to-assist-in-intrusion-detection); Event Log Readers
    # (S-1-5-32-573) members by Get-LocalGroupMember -SID (reference/5.1/Microsoft.PowerShell.LocalAccounts).
    try {
        $managers = [System.Collections.Generic.List[string]]::new()
        $key = Open-RegistryKeyReadOnly -Path 'HKLM\SOFTWARE\Policies\Microsoft\Windows\EventLog\EventForwarding\SubscriptionManager'
        if ($null -ne $key) {
            try { foreach ($name in $key.GetValueNames()) { $managers.Add([string]$key.GetValue($name)) } }
            finally { $key.Dispose() }
        }
        $group = [System.Security.Principal.SecurityIdentifier]::new('S-1-5-32-573')
        $members = @(Get-LocalGroupMember -SID $group -ErrorAction Stop | ForEach-Object { [string]$_.SID.Value })
        return @{ subscription_managers = @($managers); event_log_readers = $members }
    }
    catch { return @{ error = ('event forwarding: {0}' -f $_.Exception.Message) } }
}

function Get-TimeEvidence {
    # w32tm /query /status (windows-server/networking/windows-time-service/windows-time-service-tools-and-settings):
    # "Source:" and "Phase Offset: <seconds>s" lines (English output; another language leaves them unknown).
    try {
        $text = Invoke-Tool -Arguments @('w32tm.exe', '/query', '/status')
        $source = ''
        $offset = $null
        foreach ($line in ($text -split "`r?`n")) {
            if ($line -match '^\s*Source:\s*(.+?)\s*$') { $source = $Matches[1] }
            if ($line -match '^\s*Phase Offset:\s*(-?[0-9.]+)s\s*$') {
                $offset = [double]::Parse($Matches[1], [System.Globalization.CultureInfo]::InvariantCulture)
            }
        }
        return @{ source = $source; offset_s = $offset }
    }
    catch { return @{ error = ('w32tm /query /status: {0}' -f $_.Exception.Message) } }
}

function Get-EvidenceState {
    $services = @{}
    foreach ($service in @(Get-Service -ErrorAction SilentlyContinue)) { $services[$service.Name] = [string]$service.Status }
    @{
        srp = Get-SrpEvidence
        patch = Get-PatchEvidence
        app_control = Get-AppControlEvidence
        bitlocker_drives = Get-FixedDriveBitLocker
        log_forwarding = Get-LogForwardingEvidence
        time = Get-TimeEvidence
        services = $services
    }
}

function ConvertTo-RegistryWrite {
    # A set_registry value as New-ItemProperty -PropertyType takes it (docs: reference/5.1/
    # Microsoft.PowerShell.Management/New-ItemProperty.md; the registry provider's types are
    # RegistryValueKind names). REG_DWORD goes in as the Int32 with the same bits (0..4294967295 accepted).
    param([string]$Type, $Value)
    if ($Type -eq 'dword') {
        $number = [int64]$Value
        if ($number -lt 0 -or $number -gt 4294967295) { throw ('REG_DWORD value {0} is outside 0..4294967295' -f $number) }
        return @{ kind = 'DWord'; value = [System.BitConverter]::ToInt32([System.BitConverter]::GetBytes([uint32]$number), 0) }
    }
    if ($Type -eq 'qword') { return @{ kind = 'QWord'; value = [int64]$Value } }
    if ($Type -eq 'string') { return @{ kind = 'String'; value = [string]$Value } }
    if ($Type -eq 'expand_string') { return @{ kind = 'ExpandString'; value = [string]$Value } }
    if ($Type -eq 'multi_string') { return @{ kind = 'MultiString'; value = [string[]]@($Value) } }
    if ($Type -eq 'binary') {
        $hex = [string]$Value
        if ($hex -notmatch '^([0-9a-fA-F]{2})*$') { throw ('REG_BINARY value {0} is not hex digits in pairs' -f $hex) }
        $bytes = [byte[]]::new($hex.Length / 2)
        for ($i = 0; $i -lt $bytes.Length; $i++) { $bytes[$i] = [System.Convert]::ToByte($hex.Substring(2 * $i, 2), 16) }
        return @{ kind = 'Binary'; value = $bytes }
    }
    throw ('unknown registry type {0}' -f $Type)
}

function Complete-RegistryFollowUp {
    # What some registry settings need in the same apply (issue 14):
    # - W32Time settings (BL-NTP-*): `w32tm /config /update` makes the running service read them
    #   (windows-server/networking/windows-time-service/windows-time-service-tools-and-settings); a stopped
    #   service reads them when it starts, and /update would fail on it, so it is only run while it runs.
    # - a WEF subscription manager (BL-EVENT-FORWARDING): the forwarder runs as NETWORK SERVICE (S-1-5-20)
    #   and reads the Security log only as a member of Event Log Readers (S-1-5-32-573)
    #   (windows/win32/wec/setting-up-a-source-initiated-subscription); added when it is not a member.
    param([string[]]$Paths)
    $time = @($Paths | Where-Object { $_ -like 'HKLM\SYSTEM\CurrentControlSet\Services\W32Time\*' })
    $forwarding = @($Paths | Where-Object { $_ -eq 'HKLM\SOFTWARE\Policies\Microsoft\Windows\EventLog\EventForwarding\SubscriptionManager' })
    if ($forwarding.Count -gt 0) {
        $group = [System.Security.Principal.SecurityIdentifier]::new('S-1-5-32-573')
        $members = @(Get-LocalGroupMember -SID $group -ErrorAction Stop | ForEach-Object { [string]$_.SID.Value })
        if ($members -notcontains 'S-1-5-20') { Add-LocalGroupMember -SID $group -Member 'S-1-5-20' -ErrorAction Stop }
    }
    if ($time.Count -gt 0) {
        $service = Get-Service -Name 'W32Time' -ErrorAction SilentlyContinue
        if ($null -ne $service -and [string]$service.Status -eq 'Running') {
            $null = Invoke-Tool -Arguments @('w32tm.exe', '/config', '/update')
        }
    }
}

function Invoke-Change {
    param($Change)
    switch ($Change.kind) {
        'set_registry' {
            foreach ($item in $Change.values) {
                $path = ConvertTo-ProviderPath -Path $item.path
                $typed = ConvertTo-RegistryWrite -Type $item.type -Value $item.value
                if (-not (Test-Path -LiteralPath $path)) { $null = New-Item -Path $path -Force }
                # -Force replaces a value of another type, as the twin does.
                $null = New-ItemProperty -LiteralPath $path -Name $item.name -Value $typed.value -PropertyType $typed.kind -Force
            }
            Complete-RegistryFollowUp -Paths @($Change.values | ForEach-Object { [string]$_.path })
        }
        'apply_secpol' {
            $inf = New-TempFile -Extension '.inf'
            $database = New-TempFile -Extension '.sdb'
            try {
                [System.IO.File]::WriteAllText($inf, $Change.inf, [System.Text.Encoding]::Unicode)
                # The template holds [System Access], [Privilege Rights] and [Registry Values]: both areas
                # (windows-commands/secedit-configure.md); rights the template does not name are left alone.
                $null = Invoke-Tool -Arguments @('secedit.exe', '/configure', '/db', $database, '/cfg', $inf,
                    '/areas', 'SECURITYPOLICY', 'USER_RIGHTS', '/quiet')
            }
            finally { Remove-Item -LiteralPath $inf, $database -Force -ErrorAction SilentlyContinue }
        }
        'apply_auditpol' {
            $file = New-TempFile -Extension '.csv'
            try {
                [System.IO.File]::WriteAllText($file, $Change.csv, [System.Text.Encoding]::ASCII)
                $null = Invoke-Tool -Arguments @('auditpol.exe', '/restore', ('/file:{0}' -f $file))
            }
            finally { Remove-Item -LiteralPath $file -Force -ErrorAction SilentlyContinue }
        }
        'disable_services' {
            foreach ($name in $Change.services) {
                Set-Service -Name $name -StartupType Disabled -ErrorAction Stop
                Stop-Service -Name $name -Force -ErrorAction Stop
            }
        }
        default { throw ('unknown change kind {0}' -f $Change.kind) }
    }
}

# Under the host lock: gather, or apply the changes in order and return the state after them
# (after a failure too). plugins/module_utils/MeddevHost.psm1.
Invoke-MeddevHostModule -Module $module -Gather { Get-BaselineState } -Apply {
    param($Change)
    Invoke-Change -Change $Change
}
