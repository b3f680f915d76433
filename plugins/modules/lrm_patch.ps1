#!powershell
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Host side of meddev.hardening.lrm_patch (contract: docs/host-contract.md).
# gather: LRM install, applicationHost.config bytes, IIS sites' folders, features, busy
# processes/services, audit record, backups. apply: install a feature, write a file (verified
# against the hash it was planned from, backed up byte-exact first, written atomically), write
# the audit record, restore a backup, restart (shutdown.exe, after the busy check). probe: boot time
# and the busy check only, the cheap poll of lrm_patch_wait_for_idle and of the restart wait.
# The XML itself is edited on the controller.

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ansible_collections.meddev.hardening.plugins.module_utils.MeddevHost
#Requires -Module Ansible.ModuleUtils.ArgvParser
#Requires -Module Ansible.ModuleUtils.CommandUtil

$spec = @{
    options = @{
        phase = @{ type = 'str'; required = $true; choices = 'gather', 'apply', 'probe' }
        audit_path = @{ type = 'str'; required = $true }
        backup_dir = @{ type = 'str'; required = $true }
        busy_processes = @{ type = 'list'; elements = 'str'; default = @() }
        busy_services = @{ type = 'list'; elements = 'str'; default = @() }
        changes = @{ type = 'list'; elements = 'dict'; default = @() }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$apphostPath = Join-Path $env:SystemRoot 'System32\inetsrv\config\applicationHost.config'
$module.Result.reboot_required = $false
# Administrators, SYSTEM: the only principals allowed into backup_dir.
$script:PrivateSids = 'S-1-5-32-544', 'S-1-5-18'

function Get-Sha256Hex {
    param([byte[]]$Bytes)
    $sha = [System.Security.Cryptography.SHA256]::Create()
    try { ([System.BitConverter]::ToString($sha.ComputeHash($Bytes)) -replace '-', '').ToLowerInvariant() }
    finally { $sha.Dispose() }
}

function Write-FileAtomic {
    # Write to a temp file in the same folder, then swap it in: readers see old or new, never half.
    param([string]$Path, [byte[]]$Bytes)
    $folder = Split-Path -Parent $Path
    if (-not (Test-Path -LiteralPath $folder)) { $null = New-Item -ItemType Directory -Path $folder -Force }
    $temp = Join-Path $folder ('.meddev-{0}.tmp' -f [guid]::NewGuid())
    [System.IO.File]::WriteAllBytes($temp, $Bytes)
    if (Test-Path -LiteralPath $Path) {
        [System.IO.File]::Replace($temp, $Path, [NullString]::Value)
    }
    else {
        [System.IO.File]::Move($temp, $Path)
    }
}

function Get-LrmInstall {
    $keys = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*',
    'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\*'
    $entry = Get-ItemProperty -Path $keys -ErrorAction SilentlyContinue |
        Where-Object { $_.DisplayName -like 'Local Run Manager*' } | Select-Object -First 1
    if (-not $entry) { return @{ installed = $false } }
    # An entry without DisplayVersion is an unknown version (null), not '' (as the twin).
    $version = $null
    if ($entry.DisplayVersion) { $version = [string]$entry.DisplayVersion }
    @{ installed = $true; version = $version; install_dir = [string]$entry.InstallLocation }
}

function Get-ProductType {
    # Win32_OperatingSystem.ProductType: 1 workstation, 2 domain controller, 3 server. Decides the
    # feature cmdlets: ServerManager (Get-/Install-WindowsFeature) exists on Server only; the DISM
    # optional-feature names (IIS-IPSecurity) are the client's.
    # (PowerShell-Docs reference/5.1/CimCmdlets/Get-CimInstance.md)
    [int](Get-CimInstance -ClassName Win32_OperatingSystem -ErrorAction Stop).ProductType
}

function Test-IpSecurityFeature {
    # Windows Server: Web-IP-Security (ServerManager); Windows 10/11 (instrument PCs): IIS-IPSecurity (DISM).
    param([int]$ProductType)
    if ($ProductType -ne 1) {
        return [bool](Get-WindowsFeature -Name 'Web-IP-Security' -ErrorAction Stop).Installed
    }
    $feature = Get-WindowsOptionalFeature -Online -FeatureName 'IIS-IPSecurity' -ErrorAction Stop
    return ($null -ne $feature -and [string]$feature.State -eq 'Enabled')
}

function Install-IpSecurityFeature {
    param([int]$ProductType)
    if ($ProductType -ne 1) {
        $outcome = Install-WindowsFeature -Name 'Web-IP-Security' -ErrorAction Stop
        if ([string]$outcome.RestartNeeded -eq 'Yes') { $module.Result.reboot_required = $true }
        return
    }
    # -All enables the parent features (IIS-Security) the feature needs (docset/winserver2019-ps/DISM/Enable-WindowsOptionalFeature.md).
    $outcome = Enable-WindowsOptionalFeature -Online -FeatureName 'IIS-IPSecurity' -All -NoRestart -ErrorAction Stop
    if ($outcome.RestartNeeded) { $module.Result.reboot_required = $true }
}

function Read-ConfigXml {
    # applicationHost.config as an XmlDocument; a DTD is refused, nothing external is resolved.
    param([byte[]]$Bytes)
    $settings = [System.Xml.XmlReaderSettings]::new()
    $settings.DtdProcessing = [System.Xml.DtdProcessing]::Prohibit
    $settings.XmlResolver = $null
    $stream = [System.IO.MemoryStream]::new($Bytes)
    try {
        $reader = [System.Xml.XmlReader]::Create($stream, $settings)
        try {
            $document = [System.Xml.XmlDocument]::new()
            $document.XmlResolver = $null
            $document.Load($reader)
        }
        finally { $reader.Dispose() }
    }
    finally { $stream.Dispose() }
    # XmlDocument is enumerable (its child nodes): the comma keeps it one object.
    return , $document
}

function Get-SiteFolder {
    # Sites from the gathered applicationHost.config bytes, as the controller reads them
    # (system.applicationHost/sites/site, root application and virtual directory physicalPath):
    # no dependency on the WebAdministration module, which needs the IIS scripting tools.
    param([byte[]]$Apphost)
    $result = @{ folders = @{}; error = $null }
    if ($Apphost.Length -eq 0) { return $result }
    try {
        $document = Read-ConfigXml -Bytes $Apphost
    }
    catch {
        $result.error = 'applicationHost.config is not readable XML: {0}' -f $_.Exception.Message
        return $result
    }
    $sites = @($document.SelectNodes('/configuration/system.applicationHost/sites/site'))
    foreach ($site in $sites) {
        $directory = $site.SelectSingleNode('application[@path=''/'']/virtualDirectory[@path=''/'']')
        if ($null -eq $directory) { continue }
        $root = [System.Environment]::ExpandEnvironmentVariables($directory.GetAttribute('physicalPath')).TrimEnd('\')
        if ($root.Length -eq 0 -or -not (Test-Path -LiteralPath $root -PathType Container)) { continue }
        $names = [string[]]@(Get-ChildItem -LiteralPath $root -Directory -Depth 1 -ErrorAction SilentlyContinue |
                ForEach-Object { $_.FullName.Substring($root.Length + 1) })
        # Ordinal order, as the twin sorts them (Sort-Object's order depends on the host's culture).
        [System.Array]::Sort($names, [System.StringComparer]::Ordinal)
        $result.folders[$site.GetAttribute('name')] = $names
    }
    $result
}

function Test-PrivateDirectory {
    # True when only Administrators and SYSTEM are allowed in, and nothing is inherited.
    param([string]$Path)
    $security = [System.IO.Directory]::GetAccessControl($Path)
    if (-not $security.AreAccessRulesProtected) { return $false }
    $rules = @($security.GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier]))
    foreach ($rule in $rules) {
        if ([string]$rule.AccessControlType -ne 'Allow' -or $rule.IdentityReference.Value -notin $script:PrivateSids) {
            return $false
        }
    }
    return $true
}

function Set-PrivateDirectory {
    # Backups hold the full IIS configuration: Administrators + SYSTEM full control only, inheritance
    # from ProgramData (Users: read) cut. A fresh DirectorySecurity carries only the DACL, so the owner
    # is left alone. Existing files inherit the new DACL (SetNamedSecurityInfo propagates it).
    param([string]$Path)
    if (-not (Test-Path -LiteralPath $Path -PathType Container)) {
        $null = New-Item -ItemType Directory -Path $Path -Force
    }
    if (Test-PrivateDirectory -Path $Path) { return }
    $security = [System.Security.AccessControl.DirectorySecurity]::new()
    $security.SetAccessRuleProtection($true, $false)
    foreach ($sid in $script:PrivateSids) {
        $security.AddAccessRule([System.Security.AccessControl.FileSystemAccessRule]::new(
                [System.Security.Principal.SecurityIdentifier]::new($sid),
                [System.Security.AccessControl.FileSystemRights]::FullControl,
                [System.Security.AccessControl.InheritanceFlags]'ContainerInherit, ObjectInherit',
                [System.Security.AccessControl.PropagationFlags]::None,
                [System.Security.AccessControl.AccessControlType]::Allow))
    }
    [System.IO.Directory]::SetAccessControl($Path, $security)
}

function Get-BackupDirAccess {
    param([string]$Path)
    if (-not (Test-Path -LiteralPath $Path -PathType Container)) { return 'absent' }
    if (Test-PrivateDirectory -Path $Path) { return 'private' }
    return 'open'
}

function Get-BusyName {
    # The listed processes and services that show a run in progress (SRC-LRM-5).
    param([string[]]$Processes, [string[]]$Services)
    # The comma keeps the array one object: callers get an array for 0 and 1 names too (no @() around the call,
    # which could wrap an empty array into a one-item one).
    $busy = [System.Collections.Generic.List[string]]@()
    foreach ($name in $Processes) {
        if ([string]::IsNullOrEmpty($name)) { continue }  # -Name $null is a binding error, not a miss
        if (Get-Process -Name $name -ErrorAction SilentlyContinue) { $busy.Add($name) }
    }
    foreach ($name in $Services) {
        if ([string]::IsNullOrEmpty($name)) { continue }
        $service = Get-Service -Name $name -ErrorAction SilentlyContinue
        if ($service -and [string]$service.Status -eq 'Running') { $busy.Add($name) }
    }
    return , $busy.ToArray()
}

function Get-BootTime {
    # Win32_OperatingSystem.LastBootUpTime in UTC, round-trip format: it changes with every boot, which
    # is how the controller sees that a restart happened (the WinRM fact ansible.windows.win_reboot also
    # relies on). (PowerShell-Docs reference/5.1/CimCmdlets/Get-CimInstance.md: -ClassName, -Property)
    $os = Get-CimInstance -ClassName Win32_OperatingSystem -Property LastBootUpTime -ErrorAction Stop
    $os.LastBootUpTime.ToUniversalTime().ToString('o', [System.Globalization.CultureInfo]::InvariantCulture)
}

function Start-HostRestart {
    # shutdown.exe /r /t <delay> /c <comment> /d p:4:1 (Application: Maintenance (Planned)); /t above 0
    # implies /f, so the busy check comes first and a run in progress refuses the restart.
    # (windowsserverdocs WindowsServerDocs/administration/windows-commands/shutdown.md: /t 0-315360000,
    # /c at most 512 characters; exit 1190: a shutdown is already scheduled, left alone.)
    param($Change)
    $busy = Get-BusyName -Processes @($Change.busy_processes) -Services @($Change.busy_services)
    if ($busy.Count -gt 0) {
        throw ('an instrument run is in progress ({0}): the restart was not started' -f ($busy -join ', '))
    }
    $command = Argv-ToString -arguments @('shutdown.exe', '/r', '/t', [string][int]$Change.delay_s, '/c',
        [string]$Change.comment, '/d', 'p:4:1')
    $outcome = Run-Command -command $command
    if ($outcome.rc -eq 1190) {
        throw 'shutdown.exe exited 1190: A system shutdown has already been scheduled.'
    }
    if ($outcome.rc -ne 0) {
        throw ('shutdown.exe failed (exit {0}): {1}{2}' -f $outcome.rc, $outcome.stdout, $outcome.stderr)
    }
}

function Get-LrmState {
    $params = $module.Params
    $apphost = [byte[]]@()
    if (Test-Path -LiteralPath $apphostPath) { $apphost = [System.IO.File]::ReadAllBytes($apphostPath) }
    $busy = Get-BusyName -Processes @($params.busy_processes) -Services @($params.busy_services)
    $auditText = $null
    if (Test-Path -LiteralPath $params.audit_path) {
        $auditText = [System.IO.File]::ReadAllText($params.audit_path, [System.Text.Encoding]::UTF8)
    }
    $backups = @{}
    if (Test-Path -LiteralPath $params.backup_dir) {
        foreach ($file in Get-ChildItem -LiteralPath $params.backup_dir -File) {
            $backups[(Join-Path $params.backup_dir $file.Name)] = @{
                sha256 = Get-Sha256Hex -Bytes ([System.IO.File]::ReadAllBytes($file.FullName))
            }
        }
    }
    $productType = Get-ProductType
    $sites = Get-SiteFolder -Apphost $apphost
    @{
        lrm = Get-LrmInstall
        apphost = @{
            path = $apphostPath
            content = [System.Convert]::ToBase64String($apphost)
            sha256 = Get-Sha256Hex -Bytes $apphost
        }
        product_type = $productType
        features = @{ 'Web-IP-Security' = Test-IpSecurityFeature -ProductType $productType }
        site_folders = $sites.folders
        site_folders_error = $sites.error
        busy = $busy
        audit_text = $auditText
        backups = $backups
        backup_dir_access = Get-BackupDirAccess -Path $params.backup_dir
        boot_time = Get-BootTime
    }
}

function Invoke-Change {
    param($Change)
    switch ($Change.kind) {
        'install_feature' {
            if ($Change.name -ne 'Web-IP-Security') { throw ('unknown feature {0}' -f $Change.name) }
            Install-IpSecurityFeature -ProductType (Get-ProductType)
        }
        'secure_dir' {
            Set-PrivateDirectory -Path $Change.path
        }
        'write_file' {
            $current = [System.IO.File]::ReadAllBytes($Change.path)
            if ((Get-Sha256Hex -Bytes $current) -ne $Change.expected_sha256) {
                throw ('{0} changed since it was read; nothing written, run again' -f $Change.path)
            }
            if (-not (Test-Path -LiteralPath $Change.backup_path)) {
                Set-PrivateDirectory -Path (Split-Path -Parent $Change.backup_path)
                Write-FileAtomic -Path $Change.backup_path -Bytes $current
                $copy = [System.IO.File]::ReadAllBytes($Change.backup_path)
                if ((Get-Sha256Hex -Bytes $copy) -ne $Change.expected_sha256) { throw 'backup verification failed' }
            }
            Write-FileAtomic -Path $Change.path -Bytes ([System.Convert]::FromBase64String($Change.content))
        }
        'write_audit' {
            $null = $Change.content | ConvertFrom-Json -ErrorAction Stop  # never write a broken record
            Write-FileAtomic -Path $Change.path -Bytes ([System.Text.UTF8Encoding]::new($false).GetBytes($Change.content))
        }
        'restart' {
            Start-HostRestart -Change $Change
        }
        'restore_file' {
            $original = [System.IO.File]::ReadAllBytes($Change.backup_path)
            if ((Get-Sha256Hex -Bytes $original) -ne $Change.expected_sha256) {
                throw ('backup {0} does not match its recorded hash; not restored' -f $Change.backup_path)
            }
            Write-FileAtomic -Path $Change.path -Bytes $original
        }
        default { throw ('unknown change kind {0}' -f $Change.kind) }
    }
}

# probe only reads: no host lock, so it answers while another run holds the lock (the twin waits: stricter).
if ($module.Params.phase -eq 'probe') {
    $module.Result.probe = @{
        boot_time = Get-BootTime
        busy = Get-BusyName -Processes @($module.Params.busy_processes) -Services @($module.Params.busy_services)
    }
    $module.ExitJson()
}

# Under the host lock: gather, or apply the changes in order and return the state after them
# (after a failure too). plugins/module_utils/MeddevHost.psm1.
Invoke-MeddevHostModule -Module $module -Gather { Get-LrmState } -Apply {
    param($Change)
    Invoke-Change -Change $Change
}
