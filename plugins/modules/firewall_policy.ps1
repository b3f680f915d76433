#!powershell
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Host side of meddev.hardening.firewall_policy (contract: docs/host-contract.md).
# phase=gather returns the profiles, the rules in the owned group, and the other enabled
# inbound allow rules that admit WinRM. phase=apply carries out the planned changes in order
# and reports how many were applied. All values arrive as module options and are passed to
# the NetSecurity cmdlets as parameters, never built into command text.

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ansible_collections.meddev.hardening.plugins.module_utils.MeddevHost

$spec = @{
    options = @{
        phase = @{ type = 'str'; required = $true; choices = 'gather', 'apply' }
        rule_group = @{ type = 'str'; required = $true }
        changes = @{ type = 'list'; elements = 'dict'; default = @() }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$group = $module.Params.rule_group

function ConvertTo-ContractRule {
    param($Rule, $PortFilter, $AddressFilter)
    @{
        name = $Rule.Name
        display_name = $Rule.DisplayName
        description = [string]$Rule.Description
        group = [string]$Rule.Group
        direction = [string]$Rule.Direction
        action = [string]$Rule.Action
        enabled = ([string]$Rule.Enabled -eq 'True')
        protocol = [string]$PortFilter.Protocol
        local_ports = @($PortFilter.LocalPort)
        remote_ports = @($PortFilter.RemotePort)
        remote_addresses = @($AddressFilter.RemoteAddress)
        profiles = @(([string]$Rule.Profile) -split ', ')
    }
}

function Get-FirewallState {
    $profiles = @{}
    foreach ($fwProfile in Get-NetFirewallProfile) {
        $profiles[$fwProfile.Name.ToLowerInvariant()] = @{
            enabled = ([string]$fwProfile.Enabled -eq 'True')
            default_inbound_action = [string]$fwProfile.DefaultInboundAction
        }
    }
    # One query per filter type, joined on InstanceID: far faster than a query per rule.
    $ports = @{}
    foreach ($filter in Get-NetFirewallPortFilter -All) { $ports[$filter.InstanceID] = $filter }
    $addresses = @{}
    foreach ($filter in Get-NetFirewallAddressFilter -All) { $addresses[$filter.InstanceID] = $filter }

    $owned = [System.Collections.Generic.List[object]]@()
    $winrm = [System.Collections.Generic.List[object]]@()
    foreach ($rule in Get-NetFirewallRule) {
        $port = $ports[$rule.InstanceID]
        $address = $addresses[$rule.InstanceID]
        if ($rule.Group -eq $group) {
            $owned.Add((ConvertTo-ContractRule -Rule $rule -PortFilter $port -AddressFilter $address))
            continue
        }
        $admitsWinRM = ([string]$rule.Enabled -eq 'True') -and ([string]$rule.Direction -eq 'Inbound') -and
            ([string]$rule.Action -eq 'Allow') -and ($port.Protocol -in 'TCP', 'Any') -and
            (@($port.LocalPort | Where-Object { $_ -in '5985', '5986', 'Any' }).Count -gt 0)
        if ($admitsWinRM) {
            $winrm.Add((ConvertTo-ContractRule -Rule $rule -PortFilter $port -AddressFilter $address))
        }
    }
    @{ profiles = $profiles; rules = $owned.ToArray(); winrm_rules = $winrm.ToArray() }
}

function Get-RuleParameter {
    # Splatting table for New-/Set-NetFirewallRule from one planned rule.
    param($Rule)
    $params = @{
        DisplayName = $Rule.display_name
        Description = $Rule.description
        Direction = $Rule.direction
        Action = $Rule.action
        Enabled = $(if ($Rule.enabled) { 'True' } else { 'False' })
        Protocol = $Rule.protocol
        RemoteAddress = [string[]]$Rule.remote_addresses
        Profile = ($Rule.profiles -join ',')
    }
    # Windows rejects port filters on protocol Any; the plan never sends ports then.
    if ($Rule.protocol -ne 'Any') {
        $params.LocalPort = [string[]]$Rule.local_ports
        $params.RemotePort = [string[]]$Rule.remote_ports
    }
    $params
}

function Get-OwnedRule {
    # The rule by name, only if this collection owns it (never touch anyone else's).
    param([string]$Name)
    $rule = Get-NetFirewallRule -Name $Name -ErrorAction Stop
    if ($rule.Group -ne $group) {
        throw ('refusing to change rule {0}: it is not in the group {1}' -f $Name, $group)
    }
    $rule
}

function Invoke-Change {
    param($Change)
    switch ($Change.kind) {
        'set_profile' {
            $params = @{ Name = $Change.profile }
            if ($Change.ContainsKey('enabled')) {
                $params.Enabled = $(if ($Change.enabled) { 'True' } else { 'False' })
            }
            if ($Change.ContainsKey('default_inbound_action')) {
                $params.DefaultInboundAction = $Change.default_inbound_action
            }
            Set-NetFirewallProfile @params -ErrorAction Stop
        }
        'create_rule' {
            $params = Get-RuleParameter -Rule $Change.rule
            New-NetFirewallRule -Name $Change.rule.name -Group $group @params -ErrorAction Stop | Out-Null
        }
        'update_rule' {
            $null = Get-OwnedRule -Name $Change.rule.name
            $params = Get-RuleParameter -Rule $Change.rule
            # Set-NetFirewallRule identifies by -Name; the display name is changed via -NewDisplayName.
            $params.NewDisplayName = $params.DisplayName
            $params.Remove('DisplayName')
            Set-NetFirewallRule -Name $Change.rule.name @params -ErrorAction Stop
        }
        'remove_rule' {
            $null = Get-OwnedRule -Name $Change.name
            Remove-NetFirewallRule -Name $Change.name -ErrorAction Stop
        }
        default { throw ('unknown change kind {0}' -f $Change.kind) }
    }
}

# Under the host lock: gather, or apply the changes in order and return the state after them
# (after a failure too). plugins/module_utils/MeddevHost.psm1.
Invoke-MeddevHostModule -Module $module -Gather { Get-FirewallState } -Apply {
    param($Change)
    Invoke-Change -Change $Change
}
