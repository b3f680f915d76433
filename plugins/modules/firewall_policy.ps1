#!powershell
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Host side of meddev.hardening.firewall_policy (contract: docs/host-contract.md).
# phase=gather returns the profiles (local, effective, whether local rules and inbound rules apply, and
# which settings Group Policy sets), the rules in the owned group, and the other enabled inbound allow rules that
# admit WinRM, Group Policy's included. phase=apply carries out the planned changes in order
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
    param($Rule, $PortFilter, $AddressFilter, [string]$SourceType = 'Local')
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
        policy_store_source_type = $SourceType
        policy_store_source = [string]$Rule.PolicyStoreSource
    }
}

function Get-ProfileState {
    # PersistentStore (the cmdlets' default) holds the local settings this module changes;
    # ActiveStore the effective ones; RSOP only what Group Policy sets, NotConfigured elsewhere.
    # A setting Group Policy sets is reported, never changed: GPO overrides the local value.
    # (docset/winserver2019-ps/NetSecurity/Get-NetFirewallProfile.md, -PolicyStore)
    $active = @{}
    foreach ($fwProfile in Get-NetFirewallProfile -All -PolicyStore ActiveStore) { $active[$fwProfile.Name] = $fwProfile }
    $policy = @{}
    foreach ($fwProfile in Get-NetFirewallProfile -All -PolicyStore RSOP) { $policy[$fwProfile.Name] = $fwProfile }
    $profiles = @{}
    foreach ($fwProfile in Get-NetFirewallProfile -All) {
        $effective = $active[$fwProfile.Name]
        $gpo = $policy[$fwProfile.Name]
        $setByGpo = [System.Collections.Generic.List[string]]@()
        if ($null -ne $gpo -and [string]$gpo.Enabled -ne 'NotConfigured') { $setByGpo.Add('enabled') }
        if ($null -ne $gpo -and [string]$gpo.DefaultInboundAction -ne 'NotConfigured') {
            $setByGpo.Add('default_inbound_action')
        }
        # "Apply local firewall rules: No": AllowLocalFirewallRules False (GpoBoolean True/False/NotConfigured)
        # means only Group Policy's rules apply on the profile, this module's own are ignored there.
        # Set-NetFirewallProfile.md, -AllowLocalFirewallRules; True when not configured. Reported, never changed;
        # False in either store counts (stricter when the two disagree).
        if ($null -ne $gpo -and [string]$gpo.AllowLocalFirewallRules -ne 'NotConfigured') {
            $setByGpo.Add('allow_local_firewall_rules')
        }
        $localRulesApplied = [string]$effective.AllowLocalFirewallRules -ne 'False'
        if ($null -ne $gpo -and [string]$gpo.AllowLocalFirewallRules -eq 'False') { $localRulesApplied = $false }
        # "Block all incoming connections": AllowInboundRules False (GpoBoolean True/False/NotConfigured) means
        # every inbound rule is ignored on the profile, Group Policy's included, and all inbound traffic follows
        # DefaultInboundAction (Block: shields up). Set-NetFirewallProfile.md, -AllowInboundRules; True when not
        # configured. Set locally or by GPO; reported, never changed. False in ActiveStore or RSOP counts, and
        # the local (PersistentStore) False unless Group Policy sets the value (then GPO's wins).
        if ($null -ne $gpo -and [string]$gpo.AllowInboundRules -ne 'NotConfigured') {
            $setByGpo.Add('allow_inbound_rules')
        }
        $inboundRulesAllowed = [string]$effective.AllowInboundRules -ne 'False'
        if ($null -ne $gpo -and [string]$gpo.AllowInboundRules -eq 'False') { $inboundRulesAllowed = $false }
        if ([string]$fwProfile.AllowInboundRules -eq 'False' -and -not $setByGpo.Contains('allow_inbound_rules')) {
            $inboundRulesAllowed = $false
        }
        $profiles[$fwProfile.Name.ToLowerInvariant()] = @{
            enabled = ([string]$fwProfile.Enabled -eq 'True')
            default_inbound_action = [string]$fwProfile.DefaultInboundAction
            effective = @{
                enabled = ([string]$effective.Enabled -eq 'True')
                default_inbound_action = [string]$effective.DefaultInboundAction
                allow_local_firewall_rules = $localRulesApplied
                allow_inbound_rules = $inboundRulesAllowed
            }
            set_by_gpo = $setByGpo.ToArray()
        }
    }
    $profiles
}

function Test-AdmitsWinRM {
    param($Rule, $PortFilter)
    ([string]$Rule.Enabled -eq 'True') -and ([string]$Rule.Direction -eq 'Inbound') -and
    ([string]$Rule.Action -eq 'Allow') -and ($PortFilter.Protocol -in 'TCP', 'Any') -and
    (@($PortFilter.LocalPort | Where-Object { $_ -in '5985', '5986', 'Any' }).Count -gt 0)
}

function Get-FirewallState {
    # Owned rules from PersistentStore: the store New-/Set-/Remove-NetFirewallRule change.
    # One query per filter type, joined on InstanceID: far faster than a query per rule.
    $ports = @{}
    foreach ($filter in Get-NetFirewallPortFilter -All) { $ports[$filter.InstanceID] = $filter }
    $addresses = @{}
    foreach ($filter in Get-NetFirewallAddressFilter -All) { $addresses[$filter.InstanceID] = $filter }
    $owned = [System.Collections.Generic.List[object]]@()
    foreach ($rule in Get-NetFirewallRule -All) {
        if ($rule.Group -eq $group) {
            $owned.Add((ConvertTo-ContractRule -Rule $rule -PortFilter $ports[$rule.InstanceID] -AddressFilter $addresses[$rule.InstanceID]))
        }
    }
    # Other rules admitting WinRM from ActiveStore, the effective policy: local rules and those
    # pushed by Group Policy (PolicyStoreSourceType GroupPolicy; -TracePolicyStore fills
    # PolicyStoreSource with the GPO's name). docset/winserver2019-ps/NetSecurity/Get-NetFirewallRule.md
    $activePorts = @{}
    foreach ($filter in Get-NetFirewallPortFilter -All -PolicyStore ActiveStore) { $activePorts[$filter.InstanceID] = $filter }
    $activeAddresses = @{}
    foreach ($filter in Get-NetFirewallAddressFilter -All -PolicyStore ActiveStore) { $activeAddresses[$filter.InstanceID] = $filter }
    $winrm = [System.Collections.Generic.List[object]]@()
    foreach ($rule in Get-NetFirewallRule -All -PolicyStore ActiveStore -TracePolicyStore) {
        $port = $activePorts[$rule.InstanceID]
        $sourceType = [string]$rule.PolicyStoreSourceType
        if ($null -eq $port -or ($rule.Group -eq $group -and $sourceType -eq 'Local')) { continue }
        if (Test-AdmitsWinRM -Rule $rule -PortFilter $port) {
            $winrm.Add((ConvertTo-ContractRule -Rule $rule -PortFilter $port -AddressFilter $activeAddresses[$rule.InstanceID] -SourceType $sourceType))
        }
    }
    @{ profiles = Get-ProfileState; rules = $owned.ToArray(); winrm_rules = $winrm.ToArray() }
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
            $rule = Get-OwnedRule -Name $Change.rule.name
            $params = Get-RuleParameter -Rule $Change.rule
            if ($Change.ContainsKey('rebuild') -and $Change.rebuild) {
                # A protocol change: Set-NetFirewallRule would keep the port filter's ports, and
                # Windows refuses ports with protocol Any (docset/winserver2019-ps/NetSecurity/
                # Set-NetFirewallRule.md, -Protocol). So remove the rule, then create it under the same
                # name. Safe for WinRM: mgmt-winrm is always TCP (never rebuilt), and the plan
                # (module_utils/firewall.py _lockout_guard) refuses a rebuild unless another rule
                # admits WinRM while this one is absent; a failed create leaves it absent, never blocking.
                Remove-NetFirewallRule -Name $Change.rule.name -ErrorAction Stop
                New-NetFirewallRule -Name $Change.rule.name -Group $group @params -ErrorAction Stop | Out-Null
            }
            else {
                $filter = Get-NetFirewallPortFilter -AssociatedNetFirewallRule $rule -ErrorAction Stop
                if ([string]$filter.Protocol -ne $Change.rule.protocol) {
                    throw ('rule {0}: protocol {1} -> {2} needs a rebuild, not Set-NetFirewallRule' -f $Change.rule.name,
                        $filter.Protocol, $Change.rule.protocol)
                }
                # Set-NetFirewallRule identifies by -Name; the display name is changed via -NewDisplayName.
                $params.NewDisplayName = $params.DisplayName
                $params.Remove('DisplayName')
                Set-NetFirewallRule -Name $Change.rule.name @params -ErrorAction Stop
            }
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
