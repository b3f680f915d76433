#!powershell
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Host side of meddev.hardening.lrm_patch (contract: docs/host-contract.md).
# gather: LRM install, applicationHost.config bytes, IIS sites' folders, features, busy
# processes/services, audit record, backups. apply: install a feature, write a file (verified
# against the hash it was planned from, backed up byte-exact first, written atomically), write
# the audit record, restore a backup. The XML itself is edited on the controller.

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ansible_collections.meddev.hardening.plugins.module_utils.MeddevHost

$spec = @{
    options = @{
        phase = @{ type = 'str'; required = $true; choices = 'gather', 'apply' }
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
    @{ installed = $true; version = [string]$entry.DisplayVersion; install_dir = [string]$entry.InstallLocation }
}

function Test-IpSecurityFeature {
    # Windows Server: Web-IP-Security; Windows 10/11 (instrument PCs): IIS-IPSecurity.
    if (Get-Command -Name Get-WindowsFeature -ErrorAction SilentlyContinue) {
        return [bool](Get-WindowsFeature -Name Web-IP-Security).Installed
    }
    $feature = Get-WindowsOptionalFeature -Online -FeatureName IIS-IPSecurity -ErrorAction SilentlyContinue
    return ($null -ne $feature -and [string]$feature.State -eq 'Enabled')
}

function Get-SiteFolder {
    $folders = @{}
    Import-Module -Name WebAdministration -ErrorAction SilentlyContinue
    if (-not (Get-Command -Name Get-Website -ErrorAction SilentlyContinue)) { return $folders }
    foreach ($site in Get-Website) {
        $root = [System.Environment]::ExpandEnvironmentVariables($site.physicalPath)
        if (-not (Test-Path -LiteralPath $root -PathType Container)) { continue }
        $folders[$site.name] = @(Get-ChildItem -LiteralPath $root -Directory -Depth 1 -ErrorAction SilentlyContinue |
                ForEach-Object { $_.FullName.Substring($root.TrimEnd('\').Length + 1) })
    }
    $folders
}

function Get-LrmState {
    $params = $module.Params
    $apphost = [byte[]]@()
    if (Test-Path -LiteralPath $apphostPath) { $apphost = [System.IO.File]::ReadAllBytes($apphostPath) }
    $busy = [System.Collections.Generic.List[string]]@()
    foreach ($name in $params.busy_processes) {
        if (Get-Process -Name $name -ErrorAction SilentlyContinue) { $busy.Add($name) }
    }
    foreach ($name in $params.busy_services) {
        $service = Get-Service -Name $name -ErrorAction SilentlyContinue
        if ($service -and [string]$service.Status -eq 'Running') { $busy.Add($name) }
    }
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
    @{
        lrm = Get-LrmInstall
        apphost = @{
            path = $apphostPath
            content = [System.Convert]::ToBase64String($apphost)
            sha256 = Get-Sha256Hex -Bytes $apphost
        }
        features = @{ 'Web-IP-Security' = Test-IpSecurityFeature }
        site_folders = Get-SiteFolder
        busy = $busy.ToArray()
        audit_text = $auditText
        backups = $backups
    }
}

function Invoke-Change {
    param($Change)
    switch ($Change.kind) {
        'install_feature' {
            if (Get-Command -Name Install-WindowsFeature -ErrorAction SilentlyContinue) {
                $outcome = Install-WindowsFeature -Name $Change.name -ErrorAction Stop
                if ([string]$outcome.RestartNeeded -eq 'Yes') { $module.Result.reboot_required = $true }
            }
            else {
                $outcome = Enable-WindowsOptionalFeature -Online -FeatureName IIS-IPSecurity -NoRestart -ErrorAction Stop
                if ($outcome.RestartNeeded) { $module.Result.reboot_required = $true }
            }
        }
        'write_file' {
            $current = [System.IO.File]::ReadAllBytes($Change.path)
            if ((Get-Sha256Hex -Bytes $current) -ne $Change.expected_sha256) {
                throw ('{0} changed since it was read; nothing written, run again' -f $Change.path)
            }
            if (-not (Test-Path -LiteralPath $Change.backup_path)) {
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

# Under the host lock: gather, or apply the changes in order and return the state after them
# (after a failure too). plugins/module_utils/MeddevHost.psm1.
Invoke-MeddevHostModule -Module $module -Gather { Get-LrmState } -Apply {
    param($Change)
    Invoke-Change -Change $Change
}
