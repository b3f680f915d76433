#!powershell
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Host side of meddev.hardening.iis_log_scan (rules: plugins/module_utils/iis_logs.py).
# Streams every W3C log line by line, parses it by the #Fields: header in force, and returns
# only the requests from non-loopback clients whose decoded text matches an indicator regex
# sent by the controller. Reads only; never returns whole logs.

#AnsibleRequires -CSharpUtil Ansible.Basic

$spec = @{
    options = @{
        phase = @{ type = 'str'; required = $true; choices = 'gather' }
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

$indicators = foreach ($item in $params.indicators) {
    @{ id = [string]$item.id; regex = [regex]::new([string]$item.pattern, 'IgnoreCase, CultureInvariant') }
}
$findings = [System.Collections.Generic.List[object]]@()
$counts = @{}
$stats = @{ files = 0; lines = 0; bytes = 0; malformed = 0; oversized = 0; skipped_loopback = 0; matched_lines = 0 }

function ConvertTo-RequestText {
    # METHOD stem?query, percent-decoded twice ('+' is a space), lower case: as iis_logs.request_text.
    param([string]$Method, [string]$Stem, [string]$Query)
    $text = '{0} {1}' -f $Method, $Stem
    if ($Query -and $Query -ne '-') { $text = '{0}?{1}' -f $text, $Query }
    foreach ($round in 1..2) { $text = [System.Uri]::UnescapeDataString($text.Replace('+', ' ')) }
    $text.ToLowerInvariant()
}

function Test-Loopback {
    param([string]$Address)
    $Address.StartsWith('127.') -or $Address -eq '::1' -or $Address -eq '[::1]'
}

function Get-Field {
    param([string[]]$Values, [hashtable]$Fields, [string]$Name)
    if ($Fields.ContainsKey($Name)) { return $Values[$Fields[$Name]] }
    '-'
}

function Invoke-LogLine {
    param([string]$Path, [int]$Number, [string]$Text, [hashtable]$Fields)
    $values = $Text.Split(' ')
    if ($null -eq $Fields -or $values.Count -ne $Fields.Count) { $stats.malformed++; return }
    $client = Get-Field -Values $values -Fields $Fields -Name 'c-ip'
    if (Test-Loopback -Address $client) { $stats.skipped_loopback++; return }
    $when = '{0}T{1}Z' -f (Get-Field $values $Fields 'date'), (Get-Field $values $Fields 'time')
    if ($params.since -and [string]::CompareOrdinal($when, $params.since) -lt 0) { return }
    $method = Get-Field $values $Fields 'cs-method'
    $stem = Get-Field $values $Fields 'cs-uri-stem'
    $query = Get-Field $values $Fields 'cs-uri-query'
    $request = ConvertTo-RequestText -Method $method -Stem $stem -Query $query
    $matched = @(foreach ($indicator in $indicators) { if ($indicator.regex.IsMatch($request)) { $indicator.id } })
    if ($matched.Count -eq 0) { return }
    foreach ($id in $matched) { $counts[$id] = 1 + [int]$counts[$id] }
    $stats.matched_lines++
    if ($findings.Count -lt $params.max_findings) {
        $findings.Add(@{
                file = $Path; line = $Number; time = $when; client_ip = $client; method = $method; uri = $stem
                query = $query; status = (Get-Field $values $Fields 'sc-status'); indicator = $matched[0]
                indicators = $matched
            })
    }
}

function Invoke-LogFile {
    param([string]$Path)
    $stats.files++
    $fields = $null
    $number = 0
    # A reader streams the file: memory stays at one line, however large the log.
    $reader = [System.IO.StreamReader]::new($Path, [System.Text.Encoding]::UTF8, $true)
    try {
        while ($null -ne ($line = $reader.ReadLine())) {
            $number++
            $stats.bytes += $line.Length + 2
            if ($line.Length -gt $params.max_line_bytes) { $stats.oversized++; continue }
            $stats.lines++
            if ($line.StartsWith('#')) {
                if ($line.StartsWith('#Fields:')) {
                    $fields = @{}
                    $names = $line.Substring(8).Split(' ', [System.StringSplitOptions]::RemoveEmptyEntries)
                    for ($i = 0; $i -lt $names.Count; $i++) { $fields[$names[$i]] = $i }
                }
                continue
            }
            if ($line) { Invoke-LogLine -Path $Path -Number $number -Text $line -Fields $fields }
        }
    }
    finally {
        $reader.Dispose()
    }
}

foreach ($root in $params.log_roots) {
    if (-not (Test-Path -LiteralPath $root -PathType Container)) { continue }
    foreach ($site in Get-ChildItem -LiteralPath $root -Directory -Filter $params.site_pattern | Sort-Object Name) {
        foreach ($log in Get-ChildItem -LiteralPath $site.FullName -File -Filter '*.log' | Sort-Object Name) {
            Invoke-LogFile -Path $log.FullName
        }
    }
}

$module.Result.state = @{
    findings = $findings.ToArray()
    counts = $counts
    stats = $stats
    truncated = ($stats.matched_lines -gt $findings.Count)
}
$module.ExitJson()
