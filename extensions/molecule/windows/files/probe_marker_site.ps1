# molecule/windows: request the marker site from the host itself, over loopback and over its own
# network address (IIS then sees a non-loopback client; the host firewall does not filter traffic
# a host sends itself), including one request carrying an indicator of the LRM advisory for the
# IIS log scan to find. Prints status codes as JSON; null when no HTTP answer came.
# Constant text: nothing in it comes from the controller.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

function Get-HttpStatus {
    param([string]$Uri)
    try {
        # -UseBasicParsing: no Internet Explorer engine under WinRM (Windows PowerShell 5.1).
        $response = Invoke-WebRequest -Uri $Uri -UseBasicParsing -TimeoutSec 10
        return [int]$response.StatusCode
    }
    catch {
        # Windows PowerShell 5.1 throws a WebException for 4xx/5xx; its Response holds the status.
        if ($null -ne $_.Exception.Response) { return [int]$_.Exception.Response.StatusCode }
        return $null
    }
}

$address = Get-NetIPAddress -AddressFamily IPv4 |
    Where-Object { $_.IPAddress -notlike '127.*' -and $_.IPAddress -notlike '169.254.*' } |
    Sort-Object -Property InterfaceIndex | Select-Object -First 1
$otherAddress = ''
if ($null -ne $address) { $otherAddress = [string]$address.IPAddress }

$result = [ordered]@{
    loopback_login = Get-HttpStatus -Uri 'http://127.0.0.1:8089/iqweb/login.htm'
    other_address = $otherAddress
    other_login = $null
    upload_text = Get-HttpStatus -Uri 'http://127.0.0.1:8089/Uploads/SampleSheet.txt'
    upload_script = Get-HttpStatus -Uri 'http://127.0.0.1:8089/Uploads/probe.js'
}
$result.indicator_request = $null
if ($otherAddress) {
    $result.other_login = Get-HttpStatus -Uri ('http://{0}:8089/iqweb/login.htm' -f $otherAddress)
    # Logged by IIS whatever the answer: investigate.yml must find it (indicator "wscript").
    $result.indicator_request = Get-HttpStatus -Uri ('http://{0}:8089/iqweb/login.htm?meddev-molecule=wscript.shell' -f $otherAddress)
}
ConvertTo-Json -InputObject $result -Compress
