#!powershell
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Host side of meddev.hardening.host_evidence: Defender detections and selected Windows events,
# filtered on the host. Reads only. Cmdlets: MicrosoftDocs/windows-powershell-docs
# docset/winserver2019-ps/defender/*.md, PowerShell-Docs reference/5.1/Microsoft.PowerShell.Diagnostics/Get-WinEvent.md.

#AnsibleRequires -CSharpUtil Ansible.Basic

$spec = @{
    options = @{
        phase = @{ type = 'str'; required = $true; choices = @('gather') }
        queries = @{ type = 'list'; elements = 'dict'; required = $true }
        since = @{ type = 'str'; default = '' }
        max_events = @{ type = 'int'; default = 200 }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$since = [datetime]::MinValue
if ($module.Params.since) {
    $since = [datetime]::Parse($module.Params.since, [cultureinfo]::InvariantCulture,
        [System.Globalization.DateTimeStyles]::AdjustToUniversal)
}

function Format-Utc {
    param([datetime]$Time)
    $Time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", [cultureinfo]::InvariantCulture)
}

# available: the service is enabled (AMServiceEnabled, as defender_exclusion requires) AND Defender is
# the active antivirus (AMRunningMode 'Normal'). Off, 'Passive Mode', 'SxS Passive Mode' or 'EDR Block
# Mode' mean another product acts: Defender's history is not the whole story, so it is reported as such
# (running_mode) and never counts as "no detections". Detections are still listed when the service runs.
$defender = @{ available = $false; running_mode = $null; detections = @() }
$status = $null
if (Get-Command -Name Get-MpComputerStatus -ErrorAction SilentlyContinue) {
    try { $status = Get-MpComputerStatus -ErrorAction Stop }
    catch { $status = $null }  # service disabled (0x800106ba)
}
if ($null -ne $status -and $status.AMServiceEnabled) {
    if ($null -ne $status.AMRunningMode) { $defender.running_mode = [string]$status.AMRunningMode }
    $defender.available = ($defender.running_mode -eq 'Normal')
    $names = @{}
    foreach ($threat in @(Get-MpThreat -ErrorAction SilentlyContinue)) { $names[$threat.ThreatID] = $threat.ThreatName }
    $defender.detections = @(foreach ($item in @(Get-MpThreatDetection -ErrorAction SilentlyContinue)) {
            if ($item.InitialDetectionTime.ToUniversalTime() -lt $since) { continue }
            @{
                time = Format-Utc -Time $item.InitialDetectionTime
                threat = [string]$names[$item.ThreatID]
                resources = @($item.Resources)
                action_success = [bool]$item.ActionSuccess
            }
        })
}

$events = [System.Collections.Generic.List[object]]@()
foreach ($query in $module.Params.queries) {
    $filter = @{ LogName = [string]$query.log; Id = [int[]]$query.ids; StartTime = $since.ToLocalTime() }
    foreach ($record in @(Get-WinEvent -FilterHashtable $filter -MaxEvents $module.Params.max_events -ErrorAction SilentlyContinue)) {
        $message = [string]$record.Message
        if ($message.Length -gt 500) { $message = $message.Substring(0, 500) }
        $events.Add(@{
                log = [string]$query.log; id = $record.Id; time = Format-Utc -Time $record.TimeCreated
                provider = $record.ProviderName; message = $message
            })
    }
}

$module.Result.state = @{ defender = $defender; events = $events.ToArray() }
$module.ExitJson()
