#!powershell
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Host side of meddev.hardening.host_evidence: Defender detections and selected Windows events,
# filtered on the host. Reads only.

#AnsibleRequires -CSharpUtil Ansible.Basic

$spec = @{
    options = @{
        phase = @{ type = 'str'; required = $true; choices = 'gather' }
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
    $Time.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [cultureinfo]::InvariantCulture)
}

$defender = @{ available = $false; detections = @() }
if (Get-Command -Name Get-MpThreatDetection -ErrorAction SilentlyContinue) {
    $names = @{}
    foreach ($threat in Get-MpThreat -ErrorAction SilentlyContinue) { $names[$threat.ThreatID] = $threat.ThreatName }
    $defender.available = $true
    $defender.detections = @(foreach ($item in Get-MpThreatDetection -ErrorAction SilentlyContinue) {
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
    foreach ($record in Get-WinEvent -FilterHashtable $filter -MaxEvents $module.Params.max_events -ErrorAction SilentlyContinue) {
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
