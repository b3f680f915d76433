# molecule/windows prepare.yml: is this host a disposable test VM, freshly reverted to its
# snapshot? Read only. Constant text: nothing in it comes from the controller.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

# The VM's builder creates this file before taking the snapshot (docs/windows-test-host.md).
$disposableMarker = 'C:\meddev-molecule-disposable.txt'
$markerProducts = @('Local Run Manager (meddev molecule marker)', 'iQ-WEBX (meddev molecule marker)')
# Left by an earlier run: the collection's records and backups, the marker installs.
$leftoverPaths = @('C:\ProgramData\meddev.hardening', 'C:\MeddevMolecule')

$uninstallKeys = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*',
'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\*'
$products = @(Get-ItemProperty -Path $uninstallKeys -ErrorAction SilentlyContinue |
        Where-Object { $_.DisplayName -like 'Local Run Manager*' -or $_.DisplayName -like 'iQ-WEBX*' -or $_.DisplayName -like 'iQ-X*' } |
        ForEach-Object { [string]$_.DisplayName })
$foreign = @($products | Where-Object { $markerProducts -notcontains $_ })
$leftovers = @($leftoverPaths | Where-Object { Test-Path -LiteralPath $_ })
$leftovers += @($products | Where-Object { $markerProducts -contains $_ })

$state = [ordered]@{
    disposable_marker = (Test-Path -LiteralPath $disposableMarker -PathType Leaf)
    earlier_run = ($leftovers.Count -gt 0)
    earlier_run_paths = $leftovers
    foreign_products = $foreign
}
ConvertTo-Json -InputObject $state -Compress
