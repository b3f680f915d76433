""""Block all incoming connections" (AllowInboundRules False, set locally or by Group Policy): every inbound
rule is ignored on the profile, Group Policy's included, and inbound traffic follows the default inbound
action (docset/winserver2019-ps/NetSecurity/Set-NetFirewallProfile.md, -AllowInboundRules). No rule can
keep WinRM admitted there: the lockout guard must not count any, and the owned rules are never compliant."""

import pathlib

import pytest
from unit.firewall_sim import GROUP, apply_all, by_id, plan_for, seeded_firewall

from ansible_collections.meddev.hardening.plugins.module_utils import firewall
from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError
from ansible_collections.meddev.hardening.plugins.modules import firewall_policy as fw_sim

ROOT = pathlib.Path(__file__).resolve().parents[2]
MGMT = ["10.10.0.0/24"]


@pytest.fixture
def blocking():
    return seeded_firewall("gpo_block_all_inbound")


def test_gather_reports_where_inbound_rules_are_ignored_and_who_sets_it(blocking):
    profiles = fw_sim.gather(blocking, GROUP)["profiles"]
    assert {n: (p["effective"]["allow_inbound_rules"], p["set_by_gpo"]) for n, p in profiles.items()} == {
        "domain": (True, []), "private": (False, ["allow_inbound_rules"]), "public": (False, [])}
    # Group Policy wins over the local value, in both directions.
    blocking["gpo"]["profiles"]["Public"] = {"AllowInboundRules": True}
    public = fw_sim.gather(blocking, GROUP)["profiles"]["public"]
    assert public["effective"]["allow_inbound_rules"] is True and public["set_by_gpo"] == ["allow_inbound_rules"]


@pytest.mark.parametrize(("where", "value", "error"), [
    ("local", "No", "AllowInboundRules of the Domain profile must be true, false or NotConfigured"),
    ("gpo", "NotConfigured", "AllowInboundRules pushed by Group Policy on the Private profile must be true or false"),
    ("gpo", "False", "AllowInboundRules pushed by Group Policy on the Private profile must be true or false"),
])
def test_twin_refuses_values_windows_does_not_have(blocking, where, value, error):
    if where == "local":
        blocking["profiles"]["Domain"]["AllowInboundRules"] = value
    else:
        blocking["gpo"]["profiles"]["Private"]["AllowInboundRules"] = value
    with pytest.raises(fw_sim.SimError, match=error):
        fw_sim.gather(blocking, GROUP)


def test_default_block_where_group_policy_ignores_inbound_rules_is_refused(blocking):
    # Private admits WinRM by its default Allow only: mgmt-winrm, Windows' rule and the GPO's own WinRM rule
    # all cover private, and all are ignored there.
    with pytest.raises(ArgumentError) as error:
        plan_for(blocking, default_inbound_block=["private"], management_networks=MGMT)
    assert error.value.variable == "firewall_default_inbound_block"
    message = str(error.value)
    assert "DefaultInboundAction=Block on the private profile would block inbound WinRM" in message
    assert "Group Policy sets AllowInboundRules=False" in message and "Group Policy's included" in message
    assert "Remove private from firewall_default_inbound_block" in message and "in the GPO that sets it" in message
    # Domain applies inbound rules: the GPO's rule admits WinRM there, so blocking by default is fine.
    plan = plan_for(blocking, default_inbound_block=["domain"], management_networks=MGMT)
    assert ("set_profile", {"profile": "domain", "default_inbound_action": "Block"}) in [
        (c.kind, c.params) for c in plan.changes]


def test_enabling_a_profile_that_blocks_all_incoming_connections_is_refused(blocking):
    blocking["profiles"]["Public"]["Enabled"] = False  # off: nothing filters there yet
    with pytest.raises(ArgumentError) as error:
        plan_for(blocking, management_networks=MGMT)
    assert error.value.variable == "firewall_profiles_enabled"
    message = str(error.value)
    assert message.startswith("firewall_profiles_enabled: enabling the public profile would block inbound WinRM")
    assert "the host has (set locally) AllowInboundRules=False" in message
    assert "Set-NetFirewallProfile -Name Public -AllowInboundRules True" in message
    # Once inbound rules apply again, the same plan is safe: mgmt-winrm is created before public is switched on.
    blocking["profiles"]["Public"]["AllowInboundRules"] = True
    kinds = [(c.kind, c.params.get("profile") or c.params["rule"]["name"])
             for c in plan_for(blocking, management_networks=MGMT).changes]
    assert kinds.index(("create_rule", "mgmt-winrm")) < kinds.index(("set_profile", "public"))


def test_enabling_is_fine_where_the_default_action_allows_inbound(blocking):
    blocking["profiles"]["Public"].update(Enabled=False, DefaultInboundAction="Allow")
    plan = plan_for(blocking, management_networks=MGMT)
    assert ("set_profile", {"profile": "public", "enabled": True}) in [(c.kind, c.params) for c in plan.changes]


def test_profile_already_blocking_everything_is_reported_and_never_made_worse(blocking):
    dicom = {"name": "dicom", "local_ports": ["104"], "remote_addresses": ["10.20.30.0/24"], "profiles": ["domain"]}
    outbound = {"name": "pacs-out", "direction": "outbound", "local_ports": ["104"], "remote_addresses": ["Any"]}
    plan = plan_for(blocking, management_networks=MGMT, rules=[dicom, outbound])
    winrm = by_id(plan)["FW-MGMT-WINRM"]
    assert winrm.status == "drift"  # missing: created, it admits WinRM on domain
    apply_all(blocking, plan)
    again = plan_for(blocking, management_networks=MGMT, rules=[dicom, outbound])
    assert again.changes == ()
    winrm = by_id(again)["FW-MGMT-WINRM"]
    assert winrm.status == "manual"
    assert winrm.message.startswith(
        "inbound rules are ignored: Group Policy sets AllowInboundRules=False on private and AllowInboundRules=False "
        "is set locally on public (block all incoming connections), so this rule has no effect there")
    assert "set AllowInboundRules True there" in winrm.message
    assert by_id(again)["FW-RULE-dicom"].status == "compliant"  # domain only: inbound rules apply there
    assert by_id(again)["FW-RULE-pacs-out"].status == "compliant"  # outbound: AllowInboundRules does not matter
    assert {c.status for c in again.controls if c.id.startswith("FW-PROFILE-")} == {"compliant"}


def test_guard_counts_no_rule_where_inbound_rules_are_ignored():
    ignoring = {"enabled": True, "default_inbound_action": "NotConfigured",
                "effective": {"enabled": True, "default_inbound_action": "NotConfigured", "allow_inbound_rules": False}}
    winrm = firewall.Rule("w", "Allow", "Inbound", "TCP", ("5985",), ("Any",), ("Any",), ("Any",))
    assert not firewall._winrm_open("public", ignoring, [winrm], [winrm])  # pylint: disable=protected-access
    allowing = {**ignoring, "effective": {**ignoring["effective"], "allow_inbound_rules": True}}
    assert firewall._winrm_open("public", allowing, [winrm])  # pylint: disable=protected-access


def test_ps1_gathers_allow_inbound_rules_from_every_store():
    text = (ROOT / "plugins/modules/firewall_policy.ps1").read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    profile_state = code[code.index("function Get-ProfileState"):code.index("function Test-AdmitsWinRM")]
    assert "$inboundRulesAllowed = [string]$effective.AllowInboundRules -ne 'False'" in profile_state  # ActiveStore
    assert "[string]$gpo.AllowInboundRules -eq 'False') { $inboundRulesAllowed = $false }" in profile_state  # RSOP
    assert ("[string]$fwProfile.AllowInboundRules -eq 'False' -and -not $setByGpo.Contains('allow_inbound_rules')"
            in profile_state)  # local, unless Group Policy sets it
    assert "$setByGpo.Add('allow_inbound_rules')" in profile_state
    assert "allow_inbound_rules = $inboundRulesAllowed" in profile_state
