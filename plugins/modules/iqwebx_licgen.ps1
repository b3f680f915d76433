#!powershell
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Host side of meddev.hardening.iqwebx_licgen (contract: docs/host-contract.md).
# gather: iQ-WEBX install and version, Defender exclusions, the quarantine store (MpCmdRun
# -Restore -ListAll) and the detection history, whether LicGen.exe is in place, the login page and
# the configured iQ-X / iQ-4VIEW pages as the host sees them, the last post-restore scan record,
# third-party antivirus, pending restart, evidence file.
# apply: update definitions, add the exclusion, restore from quarantine (MpCmdRun -Restore
# -FilePath, arguments quoted by ArgvParser), write a verified artifact, scan <install>\PACS
# (Start-MpScan -ScanType CustomScan), write the evidence file.
# Cmdlets: MicrosoftDocs/windows-powershell-docs docset/winserver2019-ps/defender/*.md; MpCmdRun:
# MicrosoftDocs/defender-docs defender-endpoint/command-line-arguments-microsoft-defender-antivirus.md.

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ansible_collections.meddev.hardening.plugins.module_utils.MeddevHost
#Requires -Module Ansible.ModuleUtils.ArgvParser
#Requires -Module Ansible.ModuleUtils.CommandUtil

$spec = @{
    options = @{
        phase = @{ type = 'str'; required = $true; choices = @('gather', 'apply') }
        install_dir = @{ type = 'str'; required = $true }
        login_url = @{ type = 'str'; required = $true }
        evidence_path = @{ type = 'str'; required = $true }
        pages = @{ type = 'dict'; default = @{} }
        scan_record = @{ type = 'str'; required = $true }
        third_party_services = @{ type = 'dict'; default = @{} }
        changes = @{ type = 'list'; elements = 'dict'; default = @() }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$mpCmdRun = Join-Path $env:ProgramFiles 'Windows Defender\MpCmdRun.exe'
$invariant = [System.Globalization.CultureInfo]::InvariantCulture
# As in defender_exclusion.ps1 / module_utils/defender.py PLACEHOLDER: the text shown instead of
# the exclusion lists under HideExclusionsFromLocalAdmins, never an exclusion.
$hiddenPlaceholder = '^\s*N/A\s*:'
# `MpCmdRun -Restore -ListAll` output: "ThreatName = <name>", then one indented line
# "file:<path> quarantined at <local time> (UTC)" per quarantined file (other resources, such as
# regkey:, are skipped). Microsoft documents the command, not this output: the lines were read from
# Windows 10/Server 2016+ hosts. Same patterns as QUARANTINE_THREAT_LINE / QUARANTINE_FILE_LINE in
# iqwebx_licgen.py (a test compares them).
$quarantineThreatLine = '^ThreatName = (.+?)\s*$'
# A login page has its form; HTTP 200 without one is the white page (SRC-IQW-4). Matched in the text:
# -UseBasicParsing has no parsed .Forms (that needs the Internet Explorer engine). Same pattern as
# LOGIN_FORM in iqwebx_licgen.py (a test compares them); -match is case-insensitive.
$loginForm = '<form[\s>/]'
$quarantineFileLine = '^\s+file:(.+) quarantined at '

function Get-Sha256Hex {
    param([byte[]]$Bytes)
    $sha = [System.Security.Cryptography.SHA256]::Create()
    try { ([System.BitConverter]::ToString($sha.ComputeHash($Bytes)) -replace '-', '').ToLowerInvariant() }
    finally { $sha.Dispose() }
}

function Write-FileAtomic {
    param([string]$Path, [byte[]]$Bytes)
    $folder = Split-Path -Parent $Path
    if (-not (Test-Path -LiteralPath $folder)) { $null = New-Item -ItemType Directory -Path $folder -Force }
    $temp = Join-Path $folder ('.meddev-{0}.tmp' -f [guid]::NewGuid())
    [System.IO.File]::WriteAllBytes($temp, $Bytes)
    if (Test-Path -LiteralPath $Path) { [System.IO.File]::Replace($temp, $Path, [NullString]::Value) }
    else { [System.IO.File]::Move($temp, $Path) }
}

function Get-IqwebxInstall {
    $keys = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*',
    'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\*'
    $entry = Get-ItemProperty -Path $keys -ErrorAction SilentlyContinue |
        Where-Object { $_.DisplayName -like 'iQ-WEBX*' -or $_.DisplayName -like 'iQ-X*' } | Select-Object -First 1
    if (-not $entry) {
        if (Test-Path -LiteralPath (Join-Path $module.Params.install_dir 'PACS')) {
            return @{ installed = $true; version = $null; install_dir = $module.Params.install_dir }
        }
        return @{ installed = $false }
    }
    $folder = [string]$entry.InstallLocation
    if (-not $folder) { $folder = $module.Params.install_dir }
    # An entry without DisplayVersion is an unknown version (null), not '' (as the twin).
    $version = $null
    if ($entry.DisplayVersion) { $version = [string]$entry.DisplayVersion }
    @{ installed = $true; version = $version; install_dir = $folder }
}

function Get-WebPage {
    # Invoke-WebRequest follows redirects and throws on 4xx/5xx (the status is then on the exception's response).
    param([string]$Uri)
    try {
        $response = Invoke-WebRequest -Uri $Uri -UseBasicParsing -TimeoutSec 20 -ErrorAction Stop
        $content = [string]$response.Content
        @{ status = [int]$response.StatusCode; length = [int]$content.Trim().Length; form = ($content -match $loginForm) }
    }
    catch {
        $status = $null
        if ($_.Exception.Response) { $status = [int]$_.Exception.Response.StatusCode }
        @{ status = $status; length = 0; form = $false; error = $_.Exception.Message }
    }
}

function Get-OtherPages {
    # iQ-X / iQ-4VIEW, only those whose URL is configured: status, length (and error).
    $pages = @{}
    foreach ($key in @($module.Params.pages.Keys)) {
        $page = Get-WebPage -Uri ([string]$module.Params.pages[$key])
        $entry = @{ status = $page.status; length = $page.length }
        if ($page.ContainsKey('error')) { $entry.error = $page.error }
        $pages[$key] = $entry
    }
    $pages
}

function Get-ThirdPartyAntivirus {
    # As defender_exclusion.ps1: Security Center lists registered antivirus products on client Windows
    # (not on Server); running services name the product on both.
    $found = [System.Collections.Generic.List[object]]@()
    $products = @(Get-CimInstance -Namespace 'root/SecurityCenter2' -ClassName AntiVirusProduct -ErrorAction SilentlyContinue)
    foreach ($product in $products) {
        if ($product.displayName -notlike '*Defender*') {
            $found.Add(@{ name = [string]$product.displayName; source = 'SecurityCenter2' })
        }
    }
    foreach ($name in $module.Params.third_party_services.Keys) {
        $service = Get-Service -Name $name -ErrorAction SilentlyContinue
        if ($service -and [string]$service.Status -eq 'Running') {
            $found.Add(@{ name = [string]$module.Params.third_party_services[$name]; source = ('service {0}' -f $name) })
        }
    }
    , $found.ToArray()
}

function Write-ScanRecord {
    # Written before the scan (finished null) and after it: a scan that stops half-way shows as unfinished.
    param([string]$Path, [string]$Folder, [string]$Started, $Finished)
    $text = @{ path = $Folder; started = $Started; finished = $Finished } | ConvertTo-Json -Compress
    Write-FileAtomic -Path $Path -Bytes ([System.Text.UTF8Encoding]::new($false).GetBytes($text + "`n"))
}

function Format-Utc {
    # "yyyy-MM-ddTHH:mm:ssZ" whatever the host's culture (its time separator need not be ':').
    param([datetime]$Time)
    $Time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", $invariant)
}

function Get-QuarantineStore {
    # The quarantine store itself, not the detection history (which also keeps removed, allowed
    # and restored items): only what is listed here can be restored.
    $items = [System.Collections.Generic.List[object]]@()
    $problem = $null
    try {
        $outcome = Run-Command -command (Argv-ToString -arguments @($mpCmdRun, '-Restore', '-ListAll'))
    }
    catch {
        return @{ items = @(); error = ('MpCmdRun -Restore -ListAll could not run: {0}' -f $_.Exception.Message) }
    }
    $threat = $null
    foreach ($line in ($outcome.stdout -split '\r?\n')) {
        if ($line -match $quarantineThreatLine) { $threat = $Matches[1] }
        elseif ($null -ne $threat -and $line -match $quarantineFileLine) {
            $items.Add(@{ threat = $threat; path = $Matches[1] })
        }
    }
    if ($outcome.rc -ne 0 -and $items.Count -eq 0) {
        $said = @(($outcome.stdout + "`n" + $outcome.stderr) -split '\r?\n' | Where-Object { $_.Trim() })
        $first = ''
        if ($said.Count -gt 0) { $first = $said[0].Trim() }
        $problem = 'MpCmdRun -Restore -ListAll exit {0}: {1}' -f $outcome.rc, $first
    }
    @{ items = $items.ToArray(); error = $problem }
}

function Get-LicgenState {
    $product = Get-IqwebxInstall
    $folder = $module.Params.install_dir
    if ($product.install_dir) { $folder = $product.install_dir }
    $target = Join-Path $folder 'PACS\php\LicGen.exe'
    $state = @{
        iqwebx = $product; exclusions = @(); exclusions_hidden = $false; environment = @{}
        quarantine = @(); quarantine_error = $null; antivirus = @{}; detections = @()
        licgen_present = (Test-Path -LiteralPath $target -PathType Leaf)
        login = Get-WebPage -Uri $module.Params.login_url
        pages = Get-OtherPages
        scan_text = $null
        third_party = Get-ThirdPartyAntivirus
        pending_reboot = (Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired')
        evidence_text = $null
    }
    foreach ($name in 'ProgramFiles', 'ProgramFiles(x86)', 'ProgramData', 'SystemDrive') {
        $state.environment[$name] = [System.Environment]::GetEnvironmentVariable($name)
    }
    if (Get-Command -Name Get-MpComputerStatus -ErrorAction SilentlyContinue) {
        $status = $null
        try { $status = Get-MpComputerStatus -ErrorAction Stop }
        catch { $status = $null }  # service disabled (0x800106ba)
        if ($null -ne $status -and $status.AMServiceEnabled) {
            $paths = @((Get-MpPreference).ExclusionPath | Where-Object { $_ })
            if (@($paths | Where-Object { [string]$_ -match $hiddenPlaceholder }).Count -gt 0) {
                $state.exclusions_hidden = $true
            }
            else { $state.exclusions = $paths }
            $state.antivirus = @{ signature_age_days = [int]$status.AntivirusSignatureAge }
            $names = @{}
            foreach ($threat in @(Get-MpThreat -ErrorAction SilentlyContinue)) { $names[$threat.ThreatID] = $threat.ThreatName }
            $state.detections = @(foreach ($item in @(Get-MpThreatDetection -ErrorAction SilentlyContinue)) {
                    # Resources: "file:_C:\..." (MSFT_MpThreatDetection, learn.microsoft.com previous-versions
                    # windows/desktop/defender/msft-mpthreatdetection).
                    @{
                        time = Format-Utc -Time $item.InitialDetectionTime; threat = [string]$names[$item.ThreatID]
                        resources = @($item.Resources | Where-Object { $_ } | ForEach-Object { [string]$_ })
                    }
                })
            $store = Get-QuarantineStore
            $state.quarantine = @($store.items)
            $state.quarantine_error = $store.error
        }
    }
    if (Test-Path -LiteralPath $module.Params.scan_record) {
        $state.scan_text = [System.IO.File]::ReadAllText($module.Params.scan_record, [System.Text.Encoding]::UTF8)
    }
    if (Test-Path -LiteralPath $module.Params.evidence_path) {
        $state.evidence_text = [System.IO.File]::ReadAllText($module.Params.evidence_path, [System.Text.Encoding]::UTF8)
    }
    $state
}

function Invoke-Change {
    param($Change)
    switch ($Change.kind) {
        'update_signatures' { Update-MpSignature -ErrorAction Stop }
        'add_exclusion' { Add-MpPreference -ExclusionPath ([string[]]@($Change.value)) -ErrorAction Stop }
        'restore_quarantine' {
            # Documented grammar: -Restore [-ListAll | [[-Name <name>] [-All] | [-FilePath <filePath>]] [-Path <path>]];
            # -FilePath names the quarantined file (as -ListAll lists it), restored to where it was.
            $command = Argv-ToString -arguments @($mpCmdRun, '-Restore', '-FilePath', $Change.path)
            $outcome = Run-Command -command $command
            if ($outcome.rc -ne 0 -or -not (Test-Path -LiteralPath $Change.path -PathType Leaf)) {
                throw ('MpCmdRun -Restore did not bring back {0} (rc {1}): {2}' -f $Change.path, $outcome.rc, $outcome.stdout)
            }
        }
        'scan' {
            # Start-MpScan returns when the scan has ended unless -AsJob is given (windows-powershell-docs
            # docset/winserver2022-ps/defender/Start-MpScan.md; MpScanStart is synchronous by default:
            # learn.microsoft.com/windows/win32/lwef/mpscanstart). Threats it finds are read at the next
            # gather (Get-MpThreatDetection since the start, a resource under the folder).
            $started = Format-Utc -Time ([datetime]::UtcNow)
            Write-ScanRecord -Path $Change.record -Folder $Change.path -Started $started -Finished $null
            Start-MpScan -ScanType CustomScan -ScanPath $Change.path -ErrorAction Stop
            Write-ScanRecord -Path $Change.record -Folder $Change.path -Started $started -Finished (Format-Utc -Time ([datetime]::UtcNow))
        }
        'write_artifact' {
            $bytes = [System.Convert]::FromBase64String($Change.content)
            if ((Get-Sha256Hex -Bytes $bytes) -ne $Change.sha256) { throw 'artifact hash mismatch on the host; nothing written' }
            Write-FileAtomic -Path $Change.path -Bytes $bytes
        }
        'write_evidence' {
            $null = $Change.content | ConvertFrom-Json -ErrorAction Stop
            Write-FileAtomic -Path $Change.path -Bytes ([System.Text.UTF8Encoding]::new($false).GetBytes($Change.content))
        }
        default { throw ('unknown change kind {0}' -f $Change.kind) }
    }
}

# Under the host lock: gather, or apply the changes in order and return the state after them
# (after a failure too). plugins/module_utils/MeddevHost.psm1.
Invoke-MeddevHostModule -Module $module -Gather { Get-LicgenState } -Apply {
    param($Change)
    Invoke-Change -Change $Change
}
