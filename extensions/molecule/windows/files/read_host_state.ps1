# molecule/windows: the state the roles manage, read before and after check mode
# (record_host_state.yml, check_changed_nothing.yml): any difference means check mode changed
# the host. Read only, except a temporary secedit export that is removed again.
# Constant text: nothing in it comes from the controller.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

function Get-Sha256 {
    param([byte[]]$Bytes)
    $sha = [System.Security.Cryptography.SHA256]::Create()
    try { return ([System.BitConverter]::ToString($sha.ComputeHash($Bytes)) -replace '-', '').ToLowerInvariant() }
    finally { $sha.Dispose() }
}

function Get-TextSha256 {
    param([string[]]$Lines)
    return Get-Sha256 -Bytes ([System.Text.Encoding]::UTF8.GetBytes(($Lines -join "`n")))
}

function Get-RegistryValueLine {
    # name=value for every value of a key, sorted; nothing when the key is absent.
    param([string]$Path)
    if (-not (Test-Path -LiteralPath $Path)) { return ,@() }
    $key = Get-Item -LiteralPath $Path
    return ,@($key.GetValueNames() | Sort-Object | ForEach-Object { '{0}={1}' -f $_, (@($key.GetValue($_)) -join ',') })
}

function Get-FileLine {
    # relative path and SHA-256 of every file under a folder, sorted.
    param([string]$Root)
    if (-not (Test-Path -LiteralPath $Root)) { return ,@() }
    return ,@(Get-ChildItem -LiteralPath $Root -Recurse -File -Force | Sort-Object -Property FullName | ForEach-Object {
            '{0} {1}' -f $_.FullName.Substring($Root.Length), (Get-Sha256 -Bytes ([System.IO.File]::ReadAllBytes($_.FullName)))
        })
}

$apphost = Join-Path $env:SystemRoot 'System32\inetsrv\config\applicationHost.config'
$state = [ordered]@{}
$state.apphost_sha256 = Get-Sha256 -Bytes ([System.IO.File]::ReadAllBytes($apphost))

# Firewall: profiles as stored locally, and every rule (name, state, action, direction, profile).
$state.firewall_profiles = @(Get-NetFirewallProfile -PolicyStore PersistentStore | Sort-Object -Property Name | ForEach-Object {
        '{0} enabled={1} inbound={2}' -f $_.Name, $_.Enabled, $_.DefaultInboundAction })
$rules = @(Get-NetFirewallRule -PolicyStore PersistentStore | ForEach-Object {
        '{0}|{1}|{2}|{3}|{4}|{5}' -f $_.Name, $_.Group, $_.Enabled, $_.Action, $_.Direction, $_.Profile } | Sort-Object)
$state.firewall_rule_count = $rules.Count
$state.firewall_rules_sha256 = Get-TextSha256 -Lines $rules

# Defender exclusions (what av_exclusions and iqwebx_licgen add).
$preference = Get-MpPreference
$state.defender_exclusions = @(@($preference.ExclusionPath) + @($preference.ExclusionProcess) + @($preference.ExclusionExtension) |
        Where-Object { $null -ne $_ } | ForEach-Object { [string]$_ } | Sort-Object)

# Security policy and audit policy as the baseline reads them (secedit export, auditpol /r CSV).
$export = Join-Path $env:TEMP ('meddev-molecule-{0}.inf' -f [guid]::NewGuid())
try {
    $null = & secedit.exe /export /cfg $export /areas SECURITYPOLICY /quiet
    if ($LASTEXITCODE -ne 0) { throw ('secedit /export failed with exit code {0}' -f $LASTEXITCODE) }
    $state.security_policy_sha256 = Get-Sha256 -Bytes ([System.IO.File]::ReadAllBytes($export))
}
finally {
    if (Test-Path -LiteralPath $export) { Remove-Item -LiteralPath $export -Force }
}
$audit = @(& auditpol.exe /get /category:* /r)
if ($LASTEXITCODE -ne 0) { throw ('auditpol /get failed with exit code {0}' -f $LASTEXITCODE) }
$state.audit_policy_sha256 = Get-TextSha256 -Lines $audit

# Services the baseline disables, registry values it sets (keys whose values do not move on their own).
$state.services = @(Get-CimInstance -ClassName Win32_Service | Where-Object {
        @('RemoteRegistry', 'SSDPSRV', 'upnphost', 'WMPNetworkSvc') -contains $_.Name } |
        Sort-Object -Property Name | ForEach-Object { '{0}={1}' -f $_.Name, $_.StartMode })
$registry = [ordered]@{}
foreach ($path in @(
        'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System',
        'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer',
        'HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate',
        'HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU',
        'HKLM:\SOFTWARE\Policies\Microsoft\Windows\RemovableStorageDevices',
        'HKLM:\SOFTWARE\Policies\Microsoft\Windows\EventLog\EventForwarding\SubscriptionManager',
        'HKLM:\SYSTEM\CurrentControlSet\Services\W32Time\Parameters',
        'HKLM:\SYSTEM\CurrentControlSet\Services\mrxsmb10')) {
    $registry[$path] = Get-RegistryValueLine -Path $path
}
$terminal = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server' -ErrorAction SilentlyContinue
$rdp = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp' -ErrorAction SilentlyContinue
$smb = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters' -ErrorAction SilentlyContinue
$registry['rdp'] = @(('fDenyTSConnections={0}' -f $terminal.fDenyTSConnections), ('UserAuthentication={0}' -f $rdp.UserAuthentication),
    ('SMB1={0}' -f $smb.SMB1))
$state.registry = $registry

# Files the roles write: records, evidence, backups, the iQ-WEBX artifact.
$state.files = @((Get-FileLine -Root 'C:\ProgramData\meddev.hardening') + (Get-FileLine -Root 'C:\MeddevMolecule'))

ConvertTo-Json -InputObject $state -Compress -Depth 4
