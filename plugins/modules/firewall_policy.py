#!/usr/bin/python
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docs of meddev.hardening.firewall_policy, and its simulated-host (winsim) implementation.

Real Windows hosts run ``firewall_policy.ps1``. The action plugin of the same name does the
validation and planning and calls this host module twice at most: ``phase=gather`` and
``phase=apply`` (see docs/host-contract.md).
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: firewall_policy
short_description: Manage Windows Defender Firewall profiles and the rules this collection owns
version_added: 0.1.0
description:
  - Enables the firewall profiles, optionally blocks inbound traffic by default, and manages
    firewall rules in one rule group that this collection owns. Rules outside that group are
    never changed or removed.
  - Works in three steps, one host round trip each at most; gather the profiles and owned
    rules, plan the changes on the controller, apply them all in one call (skipped in check
    mode and on audit-only hosts, C(meddev_enforce=false)).
  - Refuses, before the host is touched, any block rule that covers the WinRM ports 5985/5986,
    and a default inbound block without declared management networks. After gathering, it also
    refuses any plan that would leave WinRM blocked on a profile where it was admitted.
  - Settings Group Policy sets are reported, never changed. Where Group Policy does not apply local
    firewall rules (AllowLocalFirewallRules False), only its rules count as admitting WinRM, and the
    owned rules, still managed locally, are reported C(manual) instead of compliant.
  - Every result carries C(controls), one per requirement with its vendor source
    (for example C(SRC-LRM-9)), and C(host_calls).
author:
  - meddev.hardening contributors
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: windows
options:
  state:
    description:
      - C(present) enforces the declared state. C(absent) removes every rule the collection owns
        (rollback) and leaves the profile settings as they are.
    type: str
    choices: [present, absent]
    default: present
  profiles_enabled:
    description: Firewall profiles that must be enabled.
    type: list
    elements: str
    choices: [domain, private, public]
    default: [domain, private, public]
  default_inbound_block:
    description:
      - Profiles whose default inbound action must be C(Block) (SRC-PMR-1).
      - Requires O(management_networks), so that WinRM stays reachable.
    type: list
    elements: str
    choices: [domain, private, public]
    default: []
  lrm_block_web:
    description:
      - Block inbound TCP 80 and 443, the Illumina Local Run Manager fallback when the vendor
        patch cannot run (SRC-LRM-9). The firewall role turns it on for C(illumina_lrm) hosts.
    type: bool
    default: false
  management_networks:
    description:
      - Networks that manage the host (CIDR, addresses, C(LocalSubnet)). When set, a rule
        C(mgmt-winrm) allows O(management_ports) from them.
    type: list
    elements: str
    default: []
  management_ports:
    description: WinRM ports allowed from O(management_networks); 5985 and 5986 are always protected.
    type: list
    elements: int
    default: [5985, 5986]
  rules:
    description: Rules to enforce, in the owned rule group.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Rule name (the rule's ID), 1-64 characters C([A-Za-z0-9._-]).
        type: str
        required: true
      description:
        description: Shown in the Windows firewall console.
        type: str
      action:
        description: Allow or block.
        type: str
        choices: [allow, block]
        default: allow
      direction:
        type: str
        choices: [inbound, outbound]
        default: inbound
        description: Traffic direction.
      protocol:
        type: str
        choices: [tcp, udp, any]
        default: tcp
        description: IP protocol; ports need C(tcp) or C(udp).
      local_ports:
        description: Ports or ranges (C(104), C(8000-8010)); empty means any.
        type: list
        elements: str
      remote_ports:
        description: Remote ports or ranges; empty means any.
        type: list
        elements: str
      remote_addresses:
        description:
          - Addresses, CIDR networks (IPv4/IPv6), ranges C(a-b), C(LocalSubnet) or C(Any).
          - Required for allow rules, so that nothing is opened to everyone by accident.
        type: list
        elements: str
      profiles:
        description: Profiles the rule applies to.
        type: list
        elements: str
        default: [any]
      enabled:
        type: bool
        default: true
        description: Whether the rule is enabled.
      source:
        description: Vendor requirement ids this rule implements, shown in the report.
        type: list
        elements: str
  exclusive:
    description: Remove owned rules that are no longer declared.
    type: bool
    default: false
  rule_group:
    description: The rule group that marks the rules this collection owns.
    type: str
    default: meddev.hardening
  variable_prefix:
    description:
      - Internal. Set by the C(meddev.hardening.firewall) role (to C(firewall_));
        leave it unset when calling the module directly.
      - Prefix that error messages put before an option's name, so that they name the variable a
        role user sets (C(firewall_<option>)) rather than the module option.
    type: str
    default: ""
notes:
  - The host side is C(firewall_policy.ps1) (NetSecurity cmdlets); the simulated host side is this
    file's C(main), used through the C(meddev.hardening.winsim) connection.
  - What the module reads and changes on the host is specified in C(docs/host-contract.md) of this
    collection (no online copy exists).
"""

EXAMPLES = r"""
- name: Firewall on, LRM web ports closed, DICOM from the modality VLAN only
  meddev.hardening.firewall_policy:
    lrm_block_web: true
    management_networks: [10.10.0.0/24]
    rules:
      - name: dicom-from-modalities
        local_ports: ["104", "11112"]
        remote_addresses: [10.20.30.0/24]
        source: [SRC-CS-9]
"""

RETURN = r"""
controls:
  description: One entry per control with id, title, source, status, expected, actual, message.
  returned: always
  type: list
  elements: dict
host_calls:
  description: Host round trips this task made (1 for gather, 2 with apply).
  returned: always
  type: int
"""

import ipaddress

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.meddev.hardening.plugins.module_utils.winsim import (
    SimError,
    SimHost,
    run_host_module,
)

HOST_ARGUMENT_SPEC = {
    "phase": {"type": "str", "required": True, "choices": ["gather", "apply"]},
    "rule_group": {"type": "str", "required": True},
    "changes": {"type": "list", "elements": "dict", "default": []},
}
WINRM = {"5985", "5986"}


def _display_address(text: str) -> str:
    """Windows shows IPv4 networks with a dotted mask (10.1.0.0/255.255.0.0)."""
    if "/" not in text:
        return text
    network = ipaddress.ip_network(text, strict=False)
    if network.version == 4:
        return f"{network.network_address}/{network.netmask}"
    return network.with_prefixlen


# Contract setting name -> Get-NetFirewallProfile property.
PROFILE_SETTINGS = {"enabled": "Enabled", "default_inbound_action": "DefaultInboundAction"}
# Reported (effective, and whether Group Policy sets it), never changed by this module. False: the firewall
# ignores local rules on the profile, only Group Policy's apply (Set-NetFirewallProfile.md,
# -AllowLocalFirewallRules: GpoBoolean True/False/NotConfigured; True when not configured).
LOCAL_RULES = "AllowLocalFirewallRules"
# Reported likewise, set locally or by Group Policy ("Block all incoming connections"). False: every inbound rule is
# ignored on the profile, GPO's included, and inbound traffic follows DefaultInboundAction (Set-NetFirewallProfile.md,
# -AllowInboundRules: GpoBoolean True/False/NotConfigured; True when not configured; NotConfigured is valid only in a
# GPO, where it means "not set": so a GPO entry must be true or false, left out when not set).
INBOUND_RULES = "AllowInboundRules"


def _contract_rule(rule: dict, source_type: str = "Local") -> dict:
    return {
        "name": rule["Name"], "display_name": rule["DisplayName"], "description": rule["Description"],
        "group": rule["Group"], "direction": rule["Direction"], "action": rule["Action"],
        "enabled": rule["Enabled"], "protocol": rule["Protocol"], "local_ports": rule["LocalPort"],
        "remote_ports": rule["RemotePort"], "remote_addresses": rule["RemoteAddress"],
        "profiles": rule["Profile"].split(", "),
        "policy_store_source_type": source_type, "policy_store_source": rule.get("PolicyStoreSource", ""),
    }


def _admits_winrm(rule: dict) -> bool:
    return (rule["Enabled"] and rule["Direction"] == "Inbound" and rule["Action"] == "Allow"
            and rule["Protocol"] in ("TCP", "Any")
            and bool(WINRM & set(rule["LocalPort"]) or "Any" in rule["LocalPort"]))


def _gpo(state: dict) -> dict:
    """What Group Policy pushes (firewall.json "gpo"): profile settings (Enabled, DefaultInboundAction,
    AllowLocalFirewallRules, AllowInboundRules) and rules. The .ps1 reads them from the RSOP and ActiveStore
    policy stores; PersistentStore never shows them."""
    return state.get("gpo") or {}


def _local_rules_applied(name: str, effective: dict) -> bool:
    value = effective.get(LOCAL_RULES, True)
    if not isinstance(value, bool):  # a seed error: refuse rather than guess
        raise SimError(f"{LOCAL_RULES} of the {name} profile must be true or false, not {value!r}")
    return value


def _inbound_rules_allowed(name: str, local: dict, pushed: dict) -> bool:
    """The effective AllowInboundRules: Group Policy's value where it sets one, else the local one."""
    if INBOUND_RULES in pushed:
        value = pushed[INBOUND_RULES]
        if not isinstance(value, bool):  # a seed error: refuse rather than guess
            raise SimError(f"{INBOUND_RULES} pushed by Group Policy on the {name} profile must be true or false "
                           f"(leave it out when the GPO does not set it), not {value!r}")
        return value
    value = local.get(INBOUND_RULES, "NotConfigured")
    if value == "NotConfigured":
        return True
    if not isinstance(value, bool):
        raise SimError(f"{INBOUND_RULES} of the {name} profile must be true, false or NotConfigured, not {value!r}")
    return value


def gather(state: dict, group: str) -> dict:
    gpo = _gpo(state)
    profiles = {}
    for name, local in state.get("profiles", {}).items():
        pushed = (gpo.get("profiles") or {}).get(name) or {}
        effective = {**local, **pushed}  # Group Policy wins over the local store
        profiles[name.lower()] = {
            "enabled": local["Enabled"], "default_inbound_action": local["DefaultInboundAction"],
            "effective": {"enabled": effective["Enabled"], "default_inbound_action": effective["DefaultInboundAction"],
                          "allow_local_firewall_rules": _local_rules_applied(name, effective),
                          "allow_inbound_rules": _inbound_rules_allowed(name, local, pushed)},
            "set_by_gpo": [key for key, prop in {**PROFILE_SETTINGS, "allow_local_firewall_rules": LOCAL_RULES,
                                                 "allow_inbound_rules": INBOUND_RULES}.items() if prop in pushed],
        }
    rules = state.get("rules", [])
    owned = [_contract_rule(r) for r in rules if r["Group"] == group]
    winrm = [_contract_rule(r) for r in rules if r["Group"] != group and _admits_winrm(r)]
    winrm += [_contract_rule(r, "GroupPolicy") for r in gpo.get("rules") or [] if _admits_winrm(r)]
    return {"profiles": profiles, "rules": owned, "winrm_rules": winrm}


def _find(state: dict, name: str):
    """Get-NetFirewallRule -Name in PersistentStore: rules pushed by Group Policy are not there."""
    return next((r for r in state["rules"] if r["Name"].lower() == name.lower()), None)


def rule_parameters(spec: dict) -> dict:
    """The parameters firewall_policy.ps1 (Get-RuleParameter) passes to New-/Set-NetFirewallRule."""
    ports = (spec.get("local_ports") or ["Any"], spec.get("remote_ports") or ["Any"])
    if spec["protocol"] == "Any" and ports != (["Any"], ["Any"]):
        # The .ps1 would drop these ports silently; a plan that sends them is wrong: refuse.
        raise SimError("The port filter cannot be used with protocol Any: a port needs protocol TCP or UDP")
    params = {
        "DisplayName": spec["display_name"], "Description": spec.get("description", ""),
        "Direction": spec["direction"], "Action": spec["action"], "Enabled": bool(spec["enabled"]),
        "Protocol": spec["protocol"], "RemoteAddress": list(spec.get("remote_addresses") or ["Any"]),
        "Profile": ", ".join(spec.get("profiles") or ["Any"]),
    }
    if spec["protocol"] != "Any":  # Windows refuses ports with protocol Any: none are sent then
        params["LocalPort"] = list(spec.get("local_ports") or ["Any"])
        params["RemotePort"] = list(spec.get("remote_ports") or ["Any"])
    return params


def _checked(rule: dict) -> dict:
    """Refuse what the NetSecurity cmdlets refuse (docset/winserver2019-ps/NetSecurity/Set-NetFirewallRule.md,
    -Protocol: with a port the protocol must be TCP or UDP)."""
    if rule["Protocol"] not in ("TCP", "UDP", "Any"):
        raise SimError(f"invalid protocol {rule['Protocol']!r}")
    if rule["Protocol"] == "Any" and (rule["LocalPort"], rule["RemotePort"]) != (["Any"], ["Any"]):
        raise SimError("The port filter cannot be used with protocol Any: a port needs protocol TCP or UDP")
    if rule["Direction"] not in ("Inbound", "Outbound") or rule["Action"] not in ("Allow", "Block"):
        raise SimError("invalid direction or action")
    rule["RemoteAddress"] = [_display_address(a) for a in rule["RemoteAddress"]]
    return rule


def _new_rule(name: str, group: str, params: dict) -> dict:
    """New-NetFirewallRule: what is not given takes Windows' default (Any)."""
    return _checked({
        "Name": name, "DisplayName": params["DisplayName"], "Description": params.get("Description", ""),
        "Group": group, "Direction": params["Direction"], "Action": params["Action"], "Enabled": params["Enabled"],
        "Protocol": params["Protocol"], "LocalPort": params.get("LocalPort", ["Any"]),
        "RemotePort": params.get("RemotePort", ["Any"]), "RemoteAddress": params["RemoteAddress"],
        "Profile": params["Profile"],
    })


def _set_rule(current: dict, params: dict) -> dict:
    """Set-NetFirewallRule: only the given parameters change; the port filter keeps its ports."""
    return _checked({**current, **params})  # the .ps1 passes DisplayName as -NewDisplayName


def _set_profile(state: dict, change: dict) -> None:
    name = change["profile"].capitalize()
    pushed = ((_gpo(state).get("profiles") or {}).get(name)) or {}
    profile = state["profiles"][name]
    for key, prop in PROFILE_SETTINGS.items():
        if key not in change:
            continue
        if prop in pushed:  # Windows stores the local value, which has no effect; refuse instead
            raise SimError(f"{prop} of the {name} profile is set by Group Policy ({pushed[prop]}): the local "
                           "value would have no effect")
        profile[prop] = bool(change[key]) if key == "enabled" else change[key]


def apply_change(state: dict, change: dict, group: str) -> None:
    """Carry out one change as the NetSecurity cmdlets would (strict where Windows is)."""
    kind = change.get("kind")
    if kind == "set_profile":
        _set_profile(state, change)
    elif kind == "create_rule":
        if _find(state, change["rule"]["name"]) is not None:
            raise SimError("Cannot create a file when that file already exists.")
        state["rules"].append(_new_rule(change["rule"]["name"], group, rule_parameters(change["rule"])))
    elif kind in ("update_rule", "remove_rule"):
        name = change["name"] if kind == "remove_rule" else change["rule"]["name"]
        current = _find(state, name)
        if current is None:
            raise SimError(f"No MSFT_NetFirewallRule objects found with property 'Name' equal to '{name}'.")
        if current["Group"] != group:
            raise SimError(f"refusing to change rule {name!r}: it is not in the group {group!r}")
        index = state["rules"].index(current)
        if kind == "remove_rule":
            del state["rules"][index]
        elif change.get("rebuild"):  # Remove-NetFirewallRule, then New-NetFirewallRule under the same name
            params = rule_parameters(change["rule"])
            del state["rules"][index]
            state["rules"].append(_new_rule(name, group, params))
        else:
            if current["Protocol"] != change["rule"]["protocol"]:
                raise SimError(f"rule {name}: protocol {current['Protocol']} -> {change['rule']['protocol']} "
                               "needs a rebuild, not Set-NetFirewallRule")
            state["rules"][index] = _set_rule(current, rule_parameters(change["rule"]))
    else:
        raise SimError(f"unknown change kind {kind!r}")


def _gather(host: SimHost, params: dict) -> dict:
    return gather(host.read("firewall", {"profiles": {}, "rules": []}), params["rule_group"])


def main():
    module = AnsibleModule(argument_spec=HOST_ARGUMENT_SPEC, supports_check_mode=True)

    def apply_one(host: SimHost, change: dict) -> None:
        state = host.read("firewall", {"profiles": {}, "rules": []})
        apply_change(state, change, module.params["rule_group"])
        host.write("firewall", state)  # each cmdlet takes effect at once on Windows too

    run_host_module(module, "firewall_policy", _gather, apply_one)


if __name__ == "__main__":
    main()
