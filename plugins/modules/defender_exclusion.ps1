#!powershell
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Host side of meddev.hardening.defender_exclusion (contract: docs/host-contract.md).
# gather: Defender state and exclusions (Get-MpComputerStatus, Get-MpPreference), exclusions
# set by policy (registry), third-party antivirus (SecurityCenter2, services), the ownership
# record and the environment used to compare paths. apply: Add-/Remove-MpPreference with the
# value bound as a parameter (data, never code), and the ownership record written atomically.
# Cmdlets: MicrosoftDocs/windows-powershell-docs docset/winserver2019-ps/defender/*.md.

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ansible_collections.meddev.hardening.plugins.module_utils.MeddevHost

$spec = @{
    options = @{
        phase = @{ type = 'str'; required = $true; choices = @('gather', 'apply') }
        owner_record = @{ type = 'str'; required = $true }
        third_party_services = @{ type = 'dict'; default = @{} }
        changes = @{ type = 'list'; elements = 'dict'; default = @() }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$policyRoot = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender\Exclusions'
$policyKeys = @{ path = 'Paths'; process = 'Processes'; extension = 'Extensions' }
$parameterName = @{ path = 'ExclusionPath'; process = 'ExclusionProcess'; extension = 'ExclusionExtension' }
# What Get-MpPreference shows instead of the lists when the HideExclusionsFromLocalAdmins policy hides
# them ("N/A: Must be and administrator to view exclusions", sic): never an exclusion. Same pattern as
# PLACEHOLDER in plugins/module_utils/defender.py (Defender CSP, Configuration/HideExclusionsFromLocalAdmins).
$hiddenPlaceholder = '^\s*N/A\s*:'

# Returns through the pipeline: callers wrap the call in @() (0 values, 1 value, many: always an array).
function Get-PolicyExclusion {
    param([string]$Key)
    $item = Get-Item -LiteralPath (Join-Path $policyRoot $Key) -ErrorAction SilentlyContinue
    if ($null -eq $item) { return }
    # Ordinal order, as the twin sorts them: the registry keeps creation order, which means nothing.
    # Written to the pipeline one by one: callers collect them with @(...).
    $names = [string[]]@($item.GetValueNames() | Where-Object { $_ })
    [System.Array]::Sort($names, [System.StringComparer]::Ordinal)
    $names
}

function Get-DefenderState {
    $state = @{
        defender = @{ available = $false; running_mode = $null; disable_local_admin_merge = $false }
        exclusions = @{ path = @(); process = @(); extension = @() }
        exclusions_hidden = $false
        policy = @{}
        third_party = [System.Collections.Generic.List[object]]@()
        owned_text = $null
        environment = @{}
    }
    if (Get-Command -Name Get-MpComputerStatus -ErrorAction SilentlyContinue) {
        $status = $null
        try { $status = Get-MpComputerStatus -ErrorAction Stop }
        catch { $status = $null }  # service disabled (0x800106ba): Defender is not available
        if ($null -ne $status -and $status.AMServiceEnabled) {
            $preference = Get-MpPreference
            $mode = $null  # AMRunningMode is missing on platform versions older than its introduction
            if ($null -ne $status.AMRunningMode) { $mode = [string]$status.AMRunningMode }
            $state.defender = @{
                available = $true
                running_mode = $mode
                disable_local_admin_merge = [bool]$preference.DisableLocalAdminMerge
            }
            $shown = @{
                path = @($preference.ExclusionPath | Where-Object { $_ })
                process = @($preference.ExclusionProcess | Where-Object { $_ })
                extension = @($preference.ExclusionExtension | Where-Object { $_ })
            }
            foreach ($kind in @($shown.Keys)) {
                if (@($shown[$kind] | Where-Object { [string]$_ -match $hiddenPlaceholder }).Count -gt 0) {
                    $state.exclusions_hidden = $true
                }
            }
            if (-not $state.exclusions_hidden) { $state.exclusions = $shown }
        }
    }
    foreach ($kind in $policyKeys.Keys) { $state.policy[$kind] = @(Get-PolicyExclusion -Key $policyKeys[$kind]) }
    # Security Center lists registered antivirus products on client Windows (not on Server).
    $products = @(Get-CimInstance -Namespace 'root/SecurityCenter2' -ClassName AntiVirusProduct -ErrorAction SilentlyContinue)
    foreach ($product in $products) {
        if ($product.displayName -notlike '*Defender*') {
            $state.third_party.Add(@{ name = [string]$product.displayName; source = 'SecurityCenter2' })
        }
    }
    foreach ($name in $module.Params.third_party_services.Keys) {
        $service = Get-Service -Name $name -ErrorAction SilentlyContinue
        if ($service -and [string]$service.Status -eq 'Running') {
            $state.third_party.Add(@{ name = [string]$module.Params.third_party_services[$name]; source = ('service {0}' -f $name) })
        }
    }
    if (Test-Path -LiteralPath $module.Params.owner_record) {
        $state.owned_text = [System.IO.File]::ReadAllText($module.Params.owner_record, [System.Text.Encoding]::UTF8)
    }
    foreach ($name in 'ProgramFiles', 'ProgramFiles(x86)', 'ProgramData', 'SystemDrive', 'SystemRoot') {
        $state.environment[$name] = [System.Environment]::GetEnvironmentVariable($name)
    }
    $state.third_party = $state.third_party.ToArray()
    $state
}

function Write-OwnerRecord {
    param([string]$Path, [string]$Content)
    $null = $Content | ConvertFrom-Json -ErrorAction Stop  # never write a broken record
    $folder = Split-Path -Parent $Path
    if (-not (Test-Path -LiteralPath $folder)) { $null = New-Item -ItemType Directory -Path $folder -Force }
    $temp = Join-Path $folder ('.meddev-{0}.tmp' -f [guid]::NewGuid())
    [System.IO.File]::WriteAllText($temp, $Content, [System.Text.UTF8Encoding]::new($false))
    if (Test-Path -LiteralPath $Path) { [System.IO.File]::Replace($temp, $Path, [NullString]::Value) }
    else { [System.IO.File]::Move($temp, $Path) }
}

function Invoke-Change {
    param($Change)
    switch ($Change.kind) {
        'record_owned' { Write-OwnerRecord -Path $Change.path -Content $Change.content }
        'add' {
            $params = @{ $parameterName[$Change.exclusion_kind] = [string[]]@($Change.value) }
            Add-MpPreference @params -ErrorAction Stop
        }
        'remove' {
            $params = @{ $parameterName[$Change.exclusion_kind] = [string[]]@($Change.value) }
            Remove-MpPreference @params -ErrorAction Stop
        }
        default { throw ('unknown change kind {0}' -f $Change.kind) }
    }
}

# Under the host lock: gather, or apply the changes in order and return the state after them
# (after a failure too). plugins/module_utils/MeddevHost.psm1.
Invoke-MeddevHostModule -Module $module -Gather { Get-DefenderState } -Apply {
    param($Change)
    Invoke-Change -Change $Change
}
