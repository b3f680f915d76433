#!powershell
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Host side of meddev.hardening.baseline (contract: docs/host-contract.md).
# gather: the catalog's registry values, the security template (secedit /export), the audit
# policy (auditpol /get /r), services, hotfixes, OS build and update revision (UBR), BitLocker on
# the system drive - one call.
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
    param([string]$Path)
    $hive, $rest = $Path.Split('\', 2)
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

function Get-BaselineState {
    $registry = @{}
    foreach ($item in $module.Params.registry_values) {
        $key = Get-Item -LiteralPath (ConvertTo-ProviderPath -Path $item.path) -ErrorAction SilentlyContinue
        if ($null -ne $key -and $null -ne $key.GetValue($item.name)) {
            if (-not $registry.ContainsKey($item.path)) { $registry[$item.path] = @{} }
            $registry[$item.path][$item.name] = $key.GetValue($item.name)
        }
    }
    $inf = New-TempFile -Extension '.inf'
    try {
        $null = Invoke-Tool -Arguments @('secedit.exe', '/export', '/cfg', $inf, '/areas', 'SECURITYPOLICY', '/quiet')
        $secpol = [System.IO.File]::ReadAllText($inf)
    }
    finally { Remove-Item -LiteralPath $inf -Force -ErrorAction SilentlyContinue }
    $services = @{}
    foreach ($service in Get-Service -Name $module.Params.services -ErrorAction SilentlyContinue) {
        $services[$service.Name] = @{ Status = [string]$service.Status; StartType = [string]$service.StartType }
    }
    $bitlocker = Get-SystemDriveBitLocker
    $os = Get-OsRevision
    @{
        registry = $registry
        secpol_inf = $secpol
        auditpol_csv = Invoke-Tool -Arguments @('auditpol.exe', '/get', '/category:*', '/r')
        services = $services
        hotfixes = @(Get-HotFix -ErrorAction SilentlyContinue | ForEach-Object { $_.HotFixID })
        os_build = $os.build
        os_ubr = $os.ubr
        bitlocker = $bitlocker
    }
}

function Invoke-Change {
    param($Change)
    switch ($Change.kind) {
        'set_registry' {
            foreach ($item in $Change.values) {
                $path = ConvertTo-ProviderPath -Path $item.path
                if (-not (Test-Path -LiteralPath $path)) { $null = New-Item -Path $path -Force }
                $type = $(if ($item.type -eq 'dword') { 'DWord' } else { 'String' })
                $null = New-ItemProperty -LiteralPath $path -Name $item.name -Value $item.value -PropertyType $type -Force
            }
        }
        'apply_secpol' {
            $inf = New-TempFile -Extension '.inf'
            $database = New-TempFile -Extension '.sdb'
            try {
                [System.IO.File]::WriteAllText($inf, $Change.inf, [System.Text.Encoding]::Unicode)
                $null = Invoke-Tool -Arguments @('secedit.exe', '/configure', '/db', $database, '/cfg', $inf,
                    '/areas', 'SECURITYPOLICY', '/quiet')
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
