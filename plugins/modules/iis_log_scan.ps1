#!powershell
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Host side of meddev.hardening.iis_log_scan (rules: plugins/module_utils/iis_logs.py).
# Walks the site log folders here; MeddevLogScan.cs streams each W3C log as bytes in bounded
# chunks, parses it by the #Fields: header in force, and keeps only the requests from
# non-loopback clients whose decoded text matches an indicator regex sent by the controller.
# Reads only; never returns whole logs.

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -CSharpUtil ansible_collections.meddev.hardening.plugins.module_utils.MeddevLogScan

$spec = @{
    options = @{
        phase = @{ type = 'str'; required = $true; choices = @('gather') }
        log_roots = @{ type = 'list'; elements = 'str'; required = $true }
        site_pattern = @{ type = 'str'; required = $true }
        indicators = @{ type = 'list'; elements = 'dict'; required = $true }
        since = @{ type = 'str'; default = '' }
        max_findings = @{ type = 'int'; default = 500 }
        max_line_bytes = @{ type = 'int'; default = 65536 }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$params = $module.Params

function Get-OrdinalName {
    # The names in ordinal order, as the twin sorts them: the order of the findings (and which are
    # kept under max_findings) must not depend on the host's culture, as Sort-Object's does.
    param([object[]]$Item)
    $names = [string[]]@($Item | ForEach-Object -Process { $_.Name })
    [System.Array]::Sort($names, [System.StringComparer]::Ordinal)
    return , $names
}

$ids = [System.Collections.Generic.List[string]]::new()
$patterns = [System.Collections.Generic.List[string]]::new()
foreach ($item in $params.indicators) {
    $ids.Add([string]$item.id)
    $patterns.Add([string]$item.pattern)
}
$scan = [ansible_collections.meddev.hardening.plugins.module_utils.MeddevLogScan.LogScan]::new(
    $ids.ToArray(), $patterns.ToArray(), [string]$params.since, [int]$params.max_findings,
    [int]$params.max_line_bytes)

foreach ($root in $params.log_roots) {
    if (-not (Test-Path -LiteralPath $root -PathType Container)) { continue }
    $base = $root.TrimEnd('\')
    # -Force: hidden and system folders and files are scanned too. The name tests are done here,
    # not by -Filter, whose Win32 matching also sees 8.3 short names (*.log would match x.log1).
    $sites = @(Get-ChildItem -LiteralPath $root -Directory -Force |
            Where-Object -FilterScript { $_.Name -like $params.site_pattern })
    foreach ($site in (Get-OrdinalName -Item $sites)) {
        $folder = '{0}\{1}' -f $base, $site
        $logs = @(Get-ChildItem -LiteralPath $folder -File -Force |
                Where-Object -FilterScript { $_.Name.EndsWith('.log', [System.StringComparison]::OrdinalIgnoreCase) })
        foreach ($log in (Get-OrdinalName -Item $logs)) {
            $path = '{0}\{1}' -f $folder, $log
            try {
                $scan.ScanFile($path)
            }
            catch {
                # The .NET exception inside PowerShell's "Exception calling ScanFile" wrapper.
                $reason = $_.Exception
                if ($null -ne $reason.InnerException) { $reason = $reason.InnerException }
                $module.FailJson(('cannot read the log {0}: {1}' -f $path, $reason.Message), $_)
            }
        }
    }
}

$module.Result.state = $scan.Result()
$module.ExitJson()
