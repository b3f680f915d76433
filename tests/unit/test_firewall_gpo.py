"""Group Policy owns part of the firewall: reported, never "fixed"; its WinRM rules count for the guard.
And a rule's protocol change: rebuilt (remove + create), never a Set that keeps the old ports."""

import copy
import pathlib
import re

import pytest
from unit.firewall_sim import GROUP, apply_all, by_id, plan_for, seeded_firewall

from ansible_collections.meddev.hardening.plugins.module_utils import firewall
from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError
from ansible_collections.meddev.hardening.plugins.modules import firewall_policy as fw_sim
from ansible_collections.meddev.hardening.plugins.plugin_utils import winsim_profiles

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def gpo_firewall():
    return seeded_firewall("gpo_firewall")


def ps1_code() -> str:
    text = (ROOT / "plugins/modules/firewall_policy.ps1").read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


# -- Group Policy ------------------------------------------------------------------------------------------

def test_gather_shows_local_effective_and_gpo_owned_settings(gpo_firewall):
    state = fw_sim.gather(gpo_firewall, GROUP)
    public = state["profiles"]["public"]
    assert public["enabled"] is False and public["effective"]["enabled"] is True
    assert public["set_by_gpo"] == ["enabled"]
    assert state["profiles"]["domain"]["set_by_gpo"] == ["default_inbound_action"]
    assert state["profiles"]["domain"]["effective"]["default_inbound_action"] == "Block"
    gpo_rule = next(r for r in state["winrm_rules"] if r["policy_store_source_type"] == "GroupPolicy")
    assert gpo_rule["policy_store_source"] == "Hospital Workstations - Firewall"


def test_gpo_owned_settings_are_reported_never_changed(gpo_firewall):
    plan = plan_for(gpo_firewall)
    controls = by_id(plan)
    # Public: off locally, on by GPO - in force, so compliant; no pointless local "fix".
    assert controls["FW-PROFILE-PUBLIC"].status == "compliant"
    assert "set by Group Policy" in controls["FW-PROFILE-PUBLIC"].message
    # Private: GPO switches it off - only the GPO can change that.
    private = controls["FW-PROFILE-PRIVATE"]
    assert private.status == "manual" and "set by Group Policy: Enabled=False" in private.message
    assert [c for c in plan.changes if c.kind == "set_profile"] == []
    assert plan.facts["gpo_winrm_rules"] == ["{6A0F2E3C-0B7D-4C1E-9F00-57A1D0C0FFEE}"]


def test_default_block_set_by_gpo_is_compliant_and_local_ones_still_planned(gpo_firewall):
    plan = plan_for(gpo_firewall, default_inbound_block=["domain", "public"], management_networks=["10.10.0.0/24"])
    controls = by_id(plan)
    assert controls["FW-DEFAULT-BLOCK-DOMAIN"].status == "compliant"
    assert "DefaultInboundAction=Block" in controls["FW-DEFAULT-BLOCK-DOMAIN"].message
    assert [(c.kind, c.params) for c in plan.changes if c.kind == "set_profile"] == [
        ("set_profile", {"profile": "public", "default_inbound_action": "Block"})]
    apply_all(gpo_firewall, plan)
    assert plan_for(gpo_firewall, default_inbound_block=["domain", "public"],
                    management_networks=["10.10.0.0/24"]).changes == ()


def test_twin_refuses_a_local_change_to_a_gpo_owned_setting(gpo_firewall):
    with pytest.raises(fw_sim.SimError, match="set by Group Policy"):
        fw_sim.apply_change(gpo_firewall, {"kind": "set_profile", "profile": "private", "enabled": True}, GROUP)
    fw_sim.apply_change(gpo_firewall, {"kind": "set_profile", "profile": "private",
                                       "default_inbound_action": "Block"}, GROUP)  # not GPO's: allowed
    with pytest.raises(fw_sim.SimError, match="No MSFT_NetFirewallRule"):  # not in PersistentStore
        fw_sim.apply_change(gpo_firewall, {"kind": "remove_rule",
                                           "name": "{6A0F2E3C-0B7D-4C1E-9F00-57A1D0C0FFEE}"}, GROUP)


def test_gpo_winrm_rule_counts_for_the_lockout_guard(gpo_firewall):
    gpo_firewall["gpo"]["profiles"] = {}  # only the GPO's WinRM rule stays
    # Enabling public without declaring management networks: safe, the GPO rule admits WinRM.
    plan = plan_for(gpo_firewall)
    assert ("set_profile", {"profile": "public", "enabled": True}) in [(c.kind, c.params) for c in plan.changes]
    # Without it nothing would admit WinRM on public once it is on: refused.
    gpo_firewall["gpo"]["rules"] = []
    with pytest.raises(ArgumentError, match="public profile"):
        plan_for(gpo_firewall)


def test_ps1_gathers_the_effective_and_group_policy_state():
    code = ps1_code()
    assert "Get-NetFirewallProfile -All -PolicyStore ActiveStore" in code
    assert "Get-NetFirewallProfile -All -PolicyStore RSOP" in code
    assert "Get-NetFirewallRule -All -PolicyStore ActiveStore -TracePolicyStore" in code
    assert "PolicyStoreSourceType" in code


# -- protocol changes ----------------------------------------------------------------------------------------

DICOM = {"name": "dicom", "local_ports": ["104"], "remote_addresses": ["10.20.30.0/24"]}


def test_twin_set_keeps_ports_and_refuses_ports_with_protocol_any(gpo_firewall):
    apply_all(gpo_firewall, plan_for(gpo_firewall, rules=[DICOM]))
    rule = next(r for r in gpo_firewall["rules"] if r["Name"] == "dicom")
    assert fw_sim._set_rule(rule, {"Protocol": "UDP"})["LocalPort"] == ["104"]  # Set keeps the port filter
    with pytest.raises(fw_sim.SimError, match="protocol Any"):
        fw_sim._set_rule(rule, {"Protocol": "Any"})
    spec = {**firewall.validate({"rules": [{**DICOM, "protocol": "any", "local_ports": []}]}).rules[0].rule
            .host_dict(GROUP)}
    with pytest.raises(fw_sim.SimError, match="needs a rebuild"):
        fw_sim.apply_change(gpo_firewall, {"kind": "update_rule", "rule": spec}, GROUP)


def test_protocol_change_rebuilds_the_rule(gpo_firewall):
    apply_all(gpo_firewall, plan_for(gpo_firewall, rules=[DICOM]))
    to_any = {**DICOM, "protocol": "any", "local_ports": []}
    plan = plan_for(gpo_firewall, rules=[to_any])
    assert [(c.kind, c.control, c.params.get("rebuild")) for c in plan.changes] == [
        ("update_rule", "FW-RULE-dicom", True)]
    apply_all(gpo_firewall, plan)
    rule = next(r for r in gpo_firewall["rules"] if r["Name"] == "dicom")
    assert (rule["Protocol"], rule["LocalPort"], rule["RemotePort"], rule["Group"]) == ("Any", ["Any"], ["Any"], GROUP)
    assert plan_for(gpo_firewall, rules=[to_any]).changes == ()
    # A change that keeps the protocol stays an in-place update (Set-NetFirewallRule).
    plan = plan_for(gpo_firewall, rules=[{**to_any, "remote_addresses": ["10.20.31.0/24"]}])
    assert [(c.kind, c.params.get("rebuild")) for c in plan.changes] == [("update_rule", None)]


def test_replacement_never_leaves_winrm_without_an_allow_rule(lab_firewall):
    # The user's own rule is the only WinRM path on public: removing it for a moment is refused.
    lab_firewall["rules"] = [r for r in lab_firewall["rules"] if not r["Name"].startswith("WINRM")]
    lab_firewall["profiles"]["Public"]["Enabled"] = True
    winrm_tcp = {"name": "winrm-in", "local_ports": ["5985-5986"], "remote_addresses": ["Any"]}
    apply_all(lab_firewall, plan_for(lab_firewall, rules=[winrm_tcp]))
    with pytest.raises(ArgumentError) as error:
        plan_for(lab_firewall, rules=[{**winrm_tcp, "protocol": "any", "local_ports": []}])
    assert error.value.variable == "firewall_management_networks" and "winrm-in" in str(error.value)
    assert "domain profile" in str(error.value)
    # With the management networks declared, mgmt-winrm is created first and the rebuild is safe.
    plan = plan_for(lab_firewall, rules=[{**winrm_tcp, "protocol": "any", "local_ports": []}],
                    management_networks=["10.10.0.0/24"])
    kinds = [(c.kind, c.params.get("rule", {}).get("name"), c.params.get("rebuild")) for c in plan.changes]
    assert kinds.index(("create_rule", "mgmt-winrm", None)) < kinds.index(("update_rule", "winrm-in", True))


def test_ps1_rebuilds_the_rule_remove_then_create_under_the_same_name():
    code = ps1_code()
    update = code[code.index("'update_rule' {"):code.index("'remove_rule' {")]
    rebuild = update[update.index("$Change.rebuild"):update.index("else {")]
    assert rebuild.index("Remove-NetFirewallRule -Name $Change.rule.name") < rebuild.index(
        "New-NetFirewallRule -Name $Change.rule.name -Group $group @params")
    assert re.search(r"Get-NetFirewallPortFilter -AssociatedNetFirewallRule \$rule", update)
    assert "needs a rebuild" in update


# -- Group Policy does not apply local rules ("Apply local firewall rules: No") ----------------------------

MGMT = ["10.10.0.0/24"]


@pytest.fixture
def local_rules_ignored():
    return copy.deepcopy(winsim_profiles.load("gpo_local_rules_ignored")["state"]["firewall"])


def test_gather_reports_where_local_rules_are_not_applied(local_rules_ignored):
    profiles = fw_sim.gather(local_rules_ignored, GROUP)["profiles"]
    assert {n: (p["effective"]["allow_local_firewall_rules"], p["set_by_gpo"]) for n, p in profiles.items()} == {
        "domain": (False, ["allow_local_firewall_rules"]), "private": (False, ["allow_local_firewall_rules"]),
        "public": (True, [])}
    local_rules_ignored["gpo"]["profiles"]["Domain"]["AllowLocalFirewallRules"] = "No"  # a seed error: refused
    with pytest.raises(fw_sim.SimError, match="AllowLocalFirewallRules of the Domain profile"):
        fw_sim.gather(local_rules_ignored, GROUP)


def test_default_block_where_local_rules_are_ignored_is_refused_unless_a_gpo_rule_admits_winrm(local_rules_ignored):
    # Private admits WinRM only by its default Allow; mgmt-winrm would be created but has no effect there.
    with pytest.raises(ArgumentError) as error:
        plan_for(local_rules_ignored, default_inbound_block=["private"], management_networks=MGMT)
    assert error.value.variable == "firewall_default_inbound_block"
    message = str(error.value)
    assert "private profile" in message and "AllowLocalFirewallRules=False" in message
    assert "no Group Policy rule admits WinRM" in message
    assert "Remove private from firewall_default_inbound_block" in message
    # Domain: the GPO's own WinRM rule admits it, so blocking by default there is safe.
    plan = plan_for(local_rules_ignored, default_inbound_block=["domain"], management_networks=MGMT)
    assert ("set_profile", {"profile": "domain", "default_inbound_action": "Block"}) in [
        (c.kind, c.params) for c in plan.changes]


def test_enabling_a_profile_where_only_local_rules_admit_winrm_is_refused(local_rules_ignored):
    local_rules_ignored["profiles"]["Private"].update(Enabled=False, DefaultInboundAction="NotConfigured")
    # Windows' WINRM-HTTP-In-TCP and mgmt-winrm are local rules: neither admits anything on private.
    with pytest.raises(ArgumentError) as error:
        plan_for(local_rules_ignored, management_networks=MGMT)
    assert error.value.variable == "firewall_profiles_enabled" and "enabling the private profile" in str(error.value)
    # Once Group Policy applies local rules again, the same plan is safe: mgmt-winrm is created first.
    local_rules_ignored["gpo"]["profiles"]["Private"]["AllowLocalFirewallRules"] = True
    kinds = [(c.kind, c.params.get("profile") or c.params["rule"]["name"])
             for c in plan_for(local_rules_ignored, management_networks=MGMT).changes]
    assert kinds.index(("create_rule", "mgmt-winrm")) < kinds.index(("set_profile", "private"))


def test_owned_rules_where_local_rules_are_ignored_are_kept_but_never_compliant(local_rules_ignored):
    public_only = {"name": "dicom", "local_ports": ["104"], "remote_addresses": ["10.20.30.0/24"],
                   "profiles": ["public"]}
    plan = plan_for(local_rules_ignored, management_networks=MGMT, rules=[public_only])
    winrm = by_id(plan)["FW-MGMT-WINRM"]
    # Missing: drift (public applies local rules) and created, with the reason it does not reach domain/private.
    assert winrm.status == "drift" and "AllowLocalFirewallRules=False on domain, private" in winrm.message
    assert ("create_rule", "mgmt-winrm") in [(c.kind, c.params.get("rule", {}).get("name")) for c in plan.changes]
    apply_all(local_rules_ignored, plan)
    again = plan_for(local_rules_ignored, management_networks=MGMT, rules=[public_only])
    assert again.changes == ()
    winrm = by_id(again)["FW-MGMT-WINRM"]
    assert winrm.status == "manual"
    assert winrm.message.startswith("local rules are not applied: Group Policy sets AllowLocalFirewallRules=False "
                                    "on domain, private") and "add the rule to the GPO" in winrm.message
    assert by_id(again)["FW-RULE-dicom"].status == "compliant"  # public only: local rules apply there


def test_ps1_gathers_whether_local_rules_are_applied():
    code = ps1_code()
    profile_state = code[code.index("function Get-ProfileState"):code.index("function Test-AdmitsWinRM")]
    assert "[string]$effective.AllowLocalFirewallRules -ne 'False'" in profile_state
    assert "[string]$gpo.AllowLocalFirewallRules -eq 'False'" in profile_state
    assert "allow_local_firewall_rules = $localRulesApplied" in profile_state
    assert "$setByGpo.Add('allow_local_firewall_rules')" in profile_state


def test_where_local_rules_are_ignored_every_management_port_and_network_needs_a_gpo_rule(local_rules_ignored):
    # Domain off locally; once on, only the GPO's rule counts there: 10.10.0.0/24 to TCP 5985/5986.
    local_rules_ignored["profiles"]["Domain"]["Enabled"] = False
    assert ("set_profile", "domain") in [(c.kind, c.params.get("profile")) for c in plan_for(
        local_rules_ignored, management_networks=["10.10.0.0/25"], profiles_enabled=["domain"]).changes]
    for networks, ports, cut in ((MGMT, [5985, 5986, 8443], "TCP 8443 from 10.10.0.0/24"),
                                 (["192.168.50.0/24"], [5985], "TCP 5985 from 192.168.50.0/24"),
                                 (["10.10.0.0/23"], [5986], "TCP 5986 from 10.10.0.0/23")):
        with pytest.raises(ArgumentError) as error:
            plan_for(local_rules_ignored, management_networks=networks, management_ports=ports,
                     profiles_enabled=["domain"])
        assert error.value.variable == "firewall_profiles_enabled"
        assert f"no Group Policy rule admits {cut}" in str(error.value)
