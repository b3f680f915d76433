# molecule/windows prepare.yml: IIS with IP and Domain Restrictions, and marker installs of Local
# Run Manager and iQ-WEBX for the roles to work on (docs/windows-test-host.md). Only for a
# disposable test VM: prepare.yml refuses any other host before this runs.
# Constant text: nothing in it comes from the controller.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$uninstall = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall'
$lrmDir = 'C:\MeddevMolecule\LRM'
$siteRoot = 'C:\MeddevMolecule\LRM\Web'
$iqwebxDir = 'C:\MeddevMolecule\iQ-WEBX'
$siteName = 'meddev-molecule-lrm'
$ascii = [System.Text.Encoding]::ASCII

# Server or client by ProductType (Win32_OperatingSystem: 1 = workstation), not by which
# cmdlets happen to exist.
$productType = [int](Get-CimInstance -ClassName Win32_OperatingSystem).ProductType
if ($productType -eq 1) {
    # Windows 10/11: optional features (DISM module); -All enables the parents each one needs.
    $features = 'IIS-WebServerRole', 'IIS-WebServer', 'IIS-CommonHttpFeatures', 'IIS-StaticContent',
    'IIS-DefaultDocument', 'IIS-HttpErrors', 'IIS-Security', 'IIS-RequestFiltering', 'IIS-IPSecurity'
    $outcome = Enable-WindowsOptionalFeature -Online -FeatureName $features -All -NoRestart
    $restartNeeded = [bool]$outcome.RestartNeeded
}
else {
    # Windows Server: roles (ServerManager module). Web-IP-Security is IP and Domain Restrictions.
    $features = 'Web-Server', 'Web-WebServer', 'Web-Static-Content', 'Web-Default-Doc', 'Web-Http-Errors',
    'Web-Filtering', 'Web-IP-Security'
    $outcome = Install-WindowsFeature -Name $features
    $restartNeeded = ([string]$outcome.RestartNeeded -eq 'Yes')
}
if ($restartNeeded) {
    throw 'Installing IIS needs a restart: restart the VM, take its snapshot again and rerun (docs/windows-test-host.md)'
}

foreach ($folder in @((Join-Path $siteRoot 'Uploads'), (Join-Path $siteRoot 'iqweb'), (Join-Path $iqwebxDir 'PACS\php'))) {
    $null = New-Item -ItemType Directory -Path $folder -Force
}
# The page iqwebx_licgen requests as the iQ-WEB login, a file uploads may keep, and a script
# request filtering must refuse once the LRM patch is applied (probe_marker_site.ps1).
[System.IO.File]::WriteAllText((Join-Path $siteRoot 'iqweb\login.htm'), "<html><body>iQ-WEB login (meddev molecule marker)</body></html>`r`n", $ascii)
[System.IO.File]::WriteAllText((Join-Path $siteRoot 'Uploads\SampleSheet.txt'), "[Header]`r`n", $ascii)
[System.IO.File]::WriteAllText((Join-Path $siteRoot 'Uploads\probe.js'), "// must not be served once the LRM patch is applied`r`n", $ascii)
# LicGen.exe is left missing: iqwebx_licgen copies the distributor artifact for 2.2.0.6.

# Anonymous requests run as IUSR (S-1-5-17) in a worker process of IIS_IUSRS (S-1-5-32-568).
$acl = Get-Acl -LiteralPath $siteRoot
foreach ($sid in 'S-1-5-17', 'S-1-5-32-568') {
    $rule = [System.Security.AccessControl.FileSystemAccessRule]::new(
        [System.Security.Principal.SecurityIdentifier]::new($sid), 'ReadAndExecute', 'ContainerInherit, ObjectInherit', 'None', 'Allow')
    $acl.AddAccessRule($rule)
}
Set-Acl -LiteralPath $siteRoot -AclObject $acl

# Uninstall entries as the products' installers write them (what lrm_patch and iqwebx_licgen read).
$entries = @(
    @{ Key = 'MeddevMoleculeLRM'; DisplayName = 'Local Run Manager (meddev molecule marker)'; DisplayVersion = '3.1.0'; InstallLocation = $lrmDir },
    @{ Key = 'MeddevMoleculeIqwebx'; DisplayName = 'iQ-WEBX (meddev molecule marker)'; DisplayVersion = '2.2.0.6'; InstallLocation = $iqwebxDir }
)
foreach ($entry in $entries) {
    $path = Join-Path $uninstall $entry.Key
    $null = New-Item -Path $path -Force
    foreach ($name in 'DisplayName', 'DisplayVersion', 'InstallLocation') {
        $null = New-ItemProperty -LiteralPath $path -Name $name -Value $entry[$name] -PropertyType String -Force
    }
    $null = New-ItemProperty -LiteralPath $path -Name 'Publisher' -Value 'meddev.hardening molecule/windows' -PropertyType String -Force
}

# The marker site: HTTP on every address, port 8089, folder under the LRM install folder (how
# lrm_patch finds the site serving LRM). appcmd ships with IIS in %SystemRoot%\System32\inetsrv
# (learn.microsoft.com/iis/get-started/getting-started-with-iis/getting-started-with-appcmdexe).
$appcmdOutput = @(& 'C:\Windows\System32\inetsrv\appcmd.exe' add site /name:meddev-molecule-lrm /physicalPath:C:\MeddevMolecule\LRM\Web /bindings:http/*:8089: 2>&1)
if ($LASTEXITCODE -ne 0) { throw ('appcmd add site failed ({0}): {1}' -f $LASTEXITCODE, ($appcmdOutput -join ' ')) }

ConvertTo-Json -Compress -InputObject ([ordered]@{
        product_type = $productType
        features = @($features)
        site = $siteName
        site_root = $siteRoot
        lrm_install = $lrmDir
        iqwebx_install = $iqwebxDir
    })
