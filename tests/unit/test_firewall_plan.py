"""The firewall plan: what changes, in which order, and what it refuses."""

import pytest

from ansible_collections.meddev.hardening.plugins.module_utils import firewall
from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError
from ansible_collections.meddev.hardening.plugins.modules import firewall_policy as fw_sim

LAB = {"lrm_block_web": True, "management_networks": ["10.10.0.0/24"]}


def plan_for(host_state, gather, **args):
    return firewall.plan(firewall.validate({**LAB, **args}), gather(host_state))


def apply_all(state, plan, group="meddev.hardening"):
    for change in plan.changes:
        fw_sim.apply_change(state, change.as_host_dict(), group)


def test_lab_host_plan_fixes_exactly_the_vendor_gaps(lab_firewall, gather):
    plan = plan_for(lab_firewall, gather)
    drift = sorted(c.id for c in plan.controls if c.status == "drift")
    assert drift == ["FW-LRM-BLOCK-HTTP", "FW-LRM-BLOCK-HTTPS", "FW-MGMT-WINRM", "FW-PROFILE-PUBLIC"]
    compliant = sorted(c.id for c in plan.controls if c.status == "compliant")
    assert compliant == ["FW-PROFILE-DOMAIN", "FW-PROFILE-PRIVATE"]
    # Allow rules go before the profile switch so WinRM is admitted before the profile blocks.
    kinds = [c.kind for c in plan.changes]
    assert kinds == ["create_rule", "create_rule", "create_rule", "set_profile"]
    assert plan.changes[2].params["rule"]["name"] == "mgmt-winrm"


def test_plan_after_apply_is_empty_and_sources_are_cited(lab_firewall, gather):
    apply_all(lab_firewall, plan_for(lab_firewall, gather))
    again = plan_for(lab_firewall, gather)
    assert again.changes == ()
    assert {c.status for c in again.controls} == {"compliant"}
    by_id = {c.id: c for c in again.controls}
    assert "SRC-LRM-9" in by_id["FW-LRM-BLOCK-HTTP"].source
    assert "SRC-PMR-1" in by_id["FW-PROFILE-PUBLIC"].source


def test_windows_mask_notation_is_not_drift(lab_firewall, gather):
    apply_all(lab_firewall, plan_for(lab_firewall, gather))
    stored = next(r for r in lab_firewall["rules"] if r["Name"] == "mgmt-winrm")
    assert stored["RemoteAddress"] == ["10.10.0.0/255.255.255.0"]  # as Windows lists it
    assert plan_for(lab_firewall, gather).changes == ()


def test_changed_rule_is_updated_not_duplicated(lab_firewall, gather):
    apply_all(lab_firewall, plan_for(lab_firewall, gather))
    plan = plan_for(lab_firewall, gather, management_networks=["10.10.0.0/24", "10.11.0.5"])
    assert [(c.control, c.kind) for c in plan.changes] == [("FW-MGMT-WINRM", "update_rule")]
    assert "10.11.0.5" in plan.changes[0].after and "10.11.0.5" not in plan.changes[0].before


def test_exclusive_removes_only_owned_undeclared_rules(lab_firewall, gather):
    apply_all(lab_firewall, plan_for(lab_firewall, gather,
                                     rules=[{"name": "old", "local_ports": ["104"], "remote_addresses": ["Any"]}]))
    plan = plan_for(lab_firewall, gather, exclusive=True)
    assert [(c.kind, c.params) for c in plan.changes] == [("remove_rule", {"name": "old"})]
    assert not plan_for(lab_firewall, gather).changes  # without exclusive the old rule stays


def test_absent_removes_owned_rules_and_never_foreign_ones(lab_firewall, gather):
    foreign_before = [r for r in lab_firewall["rules"] if r["Group"] != "meddev.hardening"]
    apply_all(lab_firewall, plan_for(lab_firewall, gather))
    # Windows' own rules admit TCP 5985 from anywhere on every profile and 5986 nowhere: mgmt-winrm stays.
    plan = plan_for(lab_firewall, gather, state="absent")
    assert sorted(c.params["name"] for c in plan.changes) == ["lrm-block-http", "lrm-block-https"]
    apply_all(lab_firewall, plan)
    assert [r for r in lab_firewall["rules"] if r["Name"] != "mgmt-winrm"] == foreign_before
    # Once foreign rules admit every management port from anywhere, mgmt-winrm goes too.
    for rule in foreign_before:
        rule.update(LocalPort=["5985", "5986"], RemoteAddress=["Any"])
    plan = plan_for(lab_firewall, gather, state="absent")
    assert [c.params["name"] for c in plan.changes] == ["mgmt-winrm"]
    apply_all(lab_firewall, plan)
    assert lab_firewall["rules"] == foreign_before


def test_absent_keeps_the_management_rule_on_notconfigured_profiles(lab_firewall, gather):
    """NotConfigured is Windows' default inbound action, Block: without mgmt-winrm, 5986 would be cut off."""
    apply_all(lab_firewall, plan_for(lab_firewall, gather))
    plan = plan_for(lab_firewall, gather, state="absent")
    kept = next(c for c in plan.controls if c.id == "FW-REMOVE-mgmt-winrm")
    assert kept.status == "manual" and "WinRM" in kept.message


def test_absent_keeps_the_management_rule_while_a_profile_blocks_by_default(lab_firewall, gather):
    apply_all(lab_firewall, plan_for(lab_firewall, gather, default_inbound_block=["public"]))
    plan = plan_for(lab_firewall, gather, state="absent")
    assert "mgmt-winrm" not in [c.params["name"] for c in plan.changes]
    kept = next(c for c in plan.controls if c.id == "FW-REMOVE-mgmt-winrm")
    assert kept.status == "manual" and "WinRM" in kept.message


def test_enabling_a_profile_without_any_winrm_rule_is_refused(lab_firewall, gather):
    lab_firewall["rules"] = [r for r in lab_firewall["rules"] if not r["Name"].startswith("WINRM")]
    with pytest.raises(ArgumentError) as error:
        firewall.plan(firewall.validate({"lrm_block_web": True}, "firewall_"), gather(lab_firewall))
    assert error.value.variable == "firewall_management_networks"
    assert "public profile" in str(error.value)
    # Declaring the management networks makes the same change safe.
    assert plan_for(lab_firewall, gather).changes


def test_existing_windows_winrm_rule_makes_enabling_safe(lab_firewall, gather):
    # Public has Windows' own LocalSubnet WinRM rule: enabling it without management networks is allowed.
    plan = firewall.plan(firewall.validate({}), gather(lab_firewall))
    assert [c.control for c in plan.changes] == ["FW-PROFILE-PUBLIC"]


def test_diff_lists_only_what_apply_changes(lab_firewall, gather):
    diff = plan_for(lab_firewall, gather).diff("Windows Defender Firewall")
    assert diff["before"].splitlines() == ["FW-LRM-BLOCK-HTTP: absent", "FW-LRM-BLOCK-HTTPS: absent",
                                           "FW-MGMT-WINRM: absent", "FW-PROFILE-PUBLIC: Enabled=False"]
    assert "FW-PROFILE-DOMAIN" not in diff["after"]
    assert "block inbound TCP port 80" in diff["after"]


def test_rules_outside_the_group_are_invisible_to_the_plan(lab_firewall, gather):
    lab_firewall["rules"].append({**lab_firewall["rules"][2], "Name": "lrm-block-http", "Group": "Other"})
    with pytest.raises(fw_sim.SimError, match="already exists"):
        apply_all(lab_firewall, plan_for(lab_firewall, gather))
