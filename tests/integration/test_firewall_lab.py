"""The firewall role end to end on the simulated lab: round trips, drift, safety, rollback."""

import time

import pytest

HOST = "lrm-miseq-01"
FW = "firewall_policy"
pytestmark = pytest.mark.integration


def output(result):
    return result.stdout + result.stderr


def test_round_trips_and_idempotence(lab):
    check = lab.playbook("site.yml", "--check")
    assert check.returncode == 0, output(check)
    assert len(lab.calls(HOST, FW)) <= 2
    assert lab.latest_report()["hosts"][HOST]["round_trips"] == len(lab.calls(HOST))  # every module counted

    before = len(lab.calls(HOST, FW))
    apply = lab.playbook("site.yml")
    assert apply.returncode == 0, output(apply)
    assert len(lab.calls(HOST, FW)) - before <= 3

    again = lab.playbook("site.yml")
    assert again.returncode == 0 and f"{HOST}" in again.stdout
    assert "changed=0" in again.stdout, output(again)
    assert {c["status"] for c in lab.controls(HOST).values() if c["id"].startswith("FW-")} == {"compliant"}


def test_drift_fails_on_a_fresh_lab_and_passes_after_apply(lab):
    fresh = lab.playbook("drift.yml")
    assert fresh.returncode != 0
    assert "FW-PROFILE-PUBLIC" in output(fresh) and "FW-LRM-BLOCK-HTTP" in output(fresh)
    assert lab.latest_report()["mode"] == "check"
    assert lab.playbook("site.yml").returncode == 0
    clean = lab.playbook("drift.yml")
    assert clean.returncode == 0, output(clean)
    assert lab.latest_report()["summary"]["drift"] == 0


def test_a_setting_changed_on_the_host_is_drift_again(lab):
    assert lab.playbook("site.yml").returncode == 0
    sim = lab.sim(HOST)
    state = sim.read("firewall")
    state["profiles"]["Public"]["Enabled"] = False
    sim.write("firewall", state)
    drift = lab.playbook("drift.yml")
    assert drift.returncode != 0
    problems = [c["id"] for c in lab.controls(HOST).values() if c["status"] == "drift"]
    assert problems == ["FW-PROFILE-PUBLIC"]


@pytest.mark.parametrize(("extra", "variable", "hint"), [
    ({"firewall_rules": [{"name": "no-winrm", "action": "block", "local_ports": ["5985"]}]},
     "firewall_rules[0]", "lock out management"),
    ({"firewall_rules": [{"name": "dicom", "local_ports": ["70000"], "remote_addresses": ["10.20.30.0/24"]}]},
     "firewall_rules[0].local_ports", "1-65535"),
    ({"firewall_rules": [{"name": "dicom", "local_ports": ["104"], "remote_addresses": ["10.20.30.0/33"]}]},
     "firewall_rules[0].remote_addresses", "CIDR"),
    ({"firewall_default_inbound_block": ["public"], "firewall_management_networks": []},
     "firewall_management_networks", "WinRM"),
    ({"firewall_state": "gone"}, "firewall_state", "present, absent"),
    ({"meddev_enforce": "maybe"}, "meddev_enforce", "bool"),
    ({"meddev_products": ["illumina_lmr"]}, "meddev_products", "illumina_lrm"),
])
def test_bad_input_fails_clearly_and_leaves_the_host_byte_identical(lab, extra, variable, hint):
    before = lab.fingerprint(HOST)
    result = lab.playbook("site.yml", extra=extra)
    assert result.returncode != 0
    assert variable in output(result) and hint in output(result)
    assert lab.fingerprint(HOST) == before  # not even a gather: calls.log is unchanged too


def test_check_mode_changes_nothing_and_diff_shows_the_changes(lab):
    before = lab.fingerprint(HOST, include_calls=False)
    result = lab.playbook("site.yml", "--check", "--diff")
    assert result.returncode == 0, output(result)
    assert lab.fingerprint(HOST, include_calls=False) == before
    assert "-FW-PROFILE-PUBLIC: Enabled=False" in result.stdout
    assert "+FW-PROFILE-PUBLIC: Enabled=True" in result.stdout
    assert "+FW-LRM-BLOCK-HTTPS: block inbound TCP port 443" in result.stdout
    assert "FW-PROFILE-DOMAIN" not in result.stdout  # compliant settings are not in the diff


def test_audit_only_host_is_only_read(lab):
    before = lab.fingerprint(HOST, include_calls=False)
    result = lab.playbook("site.yml", extra={"meddev_enforce": False})
    assert result.returncode == 0, output(result)
    assert lab.fingerprint(HOST, include_calls=False) == before
    assert [c["module"] for c in lab.calls(HOST)] == [FW, "defender_exclusion", "baseline", "lrm_patch"]  # gathers only
    public = lab.controls(HOST)["FW-PROFILE-PUBLIC"]
    assert public["status"] == "drift" and "audit-only" in public["message"]


def test_fault_during_apply_fails_the_unapplied_controls_then_converges(lab):
    result = lab.playbook("site.yml", extra={"winsim_fail_call": 2})
    assert result.returncode != 0
    statuses = {cid: c["status"] for cid, c in lab.controls(HOST).items()}
    assert statuses == {"FW-LRM-BLOCK-HTTP": "failed", "FW-LRM-BLOCK-HTTPS": "failed", "FW-MGMT-WINRM": "failed",
                        "FW-PROFILE-PUBLIC": "failed", "FW-PROFILE-DOMAIN": "compliant",
                        "FW-PROFILE-PRIVATE": "compliant"}
    assert lab.playbook("site.yml").returncode == 0
    assert lab.playbook("drift.yml").returncode == 0


def test_absent_removes_exactly_the_owned_rules(lab):
    foreign = list(lab.sim(HOST).read("firewall")["rules"])
    assert lab.playbook("site.yml").returncode == 0
    result = lab.playbook("site.yml", extra={"firewall_state": "absent"})
    assert result.returncode == 0, output(result)
    # mgmt-winrm stays: the profiles block inbound by default (NotConfigured) and Windows' own rules
    # admit only TCP 5985, so removing it would cut the management network off 5986.
    rules = lab.sim(HOST).read("firewall")["rules"]
    assert [r for r in rules if r["Name"] != "mgmt-winrm"] == foreign
    statuses = {cid: c["status"] for cid, c in lab.controls(HOST).items() if cid.startswith("FW-")}
    assert statuses.pop("FW-REMOVE-mgmt-winrm") == "manual"
    assert set(statuses.values()) == {"fixed"}


def test_exclusive_removes_undeclared_owned_rules(lab):
    dicom = {"name": "dicom", "local_ports": ["104"], "remote_addresses": ["10.20.30.0/24"], "source": ["SRC-CS-9"]}
    assert lab.playbook("site.yml", extra={"firewall_rules": [dicom]}).returncode == 0
    names = {r["Name"] for r in lab.sim(HOST).read("firewall")["rules"]}
    assert "dicom" in names
    assert lab.controls(HOST)["FW-RULE-dicom"]["source"] == ["SRC-CS-9"]
    result = lab.playbook("site.yml", extra={"firewall_exclusive": True})
    assert result.returncode == 0, output(result)
    assert "dicom" not in {r["Name"] for r in lab.sim(HOST).read("firewall")["rules"]}
    assert lab.controls(HOST)["FW-STALE-dicom"]["status"] == "fixed"


def test_injected_latency_is_paid_per_call(lab):
    # A lower bound only: a sleep is never shorter, however loaded the machine is.
    started = time.monotonic()
    assert lab.playbook("site.yml", "--check", extra={"winsim_latency_ms": 2500}).returncode == 0
    slow = time.monotonic() - started
    calls = len(lab.calls(HOST))
    assert len(lab.calls(HOST, FW)) == 1  # one firewall gather per check run
    assert slow >= calls * 2.5, (calls, slow)  # each round trip paid its 2.5 s


def test_lab_reset_playbook_reseeds(lab):
    assert lab.playbook("site.yml").returncode == 0
    result = lab.playbook("lab_reset.yml")
    assert result.returncode == 0, output(result)
    assert lab.calls(HOST) == []
    assert lab.sim(HOST).read("firewall")["profiles"]["Public"]["Enabled"] is False


def test_settings_and_winrm_rules_set_by_group_policy_are_reported_not_changed(lab):
    sim = lab.sim(HOST)
    state = sim.read("firewall")
    # Group Policy switches the public profile on (locally it is off) and pushes a WinRM rule.
    state["gpo"] = {"profiles": {"Public": {"Enabled": True}}, "rules": [{
        "Name": "{6A0F2E3C-0B7D-4C1E-9F00-57A1D0C0FFEE}", "DisplayName": "WinRM from management (GPO)",
        "Description": "", "Group": "", "Direction": "Inbound", "Action": "Allow", "Enabled": True, "Protocol": "TCP",
        "LocalPort": ["5985", "5986"], "RemotePort": ["Any"], "RemoteAddress": ["10.10.0.0/255.255.255.0"],
        "Profile": "Any", "PolicyStoreSource": "Hospital Workstations - Firewall"}]}
    sim.write("firewall", state)
    result = lab.playbook("site.yml")
    assert result.returncode == 0, output(result)
    public = lab.controls(HOST)["FW-PROFILE-PUBLIC"]
    assert public["status"] == "compliant" and "set by Group Policy" in public["message"]
    assert sim.read("firewall")["profiles"]["Public"]["Enabled"] is False  # the local value was left alone
    assert lab.playbook("drift.yml").returncode == 0


def test_group_policy_that_ignores_local_rules_is_not_trusted_with_winrm(lab):
    """GPO 'Apply local firewall rules: No' on public: mgmt-winrm would have no effect there, so switching
    public on (it is off locally) would cut WinRM off. Refused before any change; allowed once the GPO
    admits WinRM itself, and the owned rules are then reported manual, never compliant."""
    sim = lab.sim(HOST)
    state = sim.read("firewall")
    state["gpo"] = {"profiles": {"Public": {"AllowLocalFirewallRules": False}}, "rules": []}
    sim.write("firewall", state)
    before = lab.fingerprint(HOST, include_calls=False)
    refused = lab.playbook("site.yml")
    assert refused.returncode != 0
    assert "firewall_profiles_enabled" in output(refused) and "AllowLocalFirewallRules=False" in output(refused)
    assert lab.fingerprint(HOST, include_calls=False) == before  # gathered, nothing changed

    state["gpo"]["rules"] = [{
        "Name": "{3C1D6B0E-7F21-4E8A-A4D2-0DDC0FFEE512}", "DisplayName": "WinRM from management (GPO)",
        "Description": "", "Group": "", "Direction": "Inbound", "Action": "Allow", "Enabled": True, "Protocol": "TCP",
        "LocalPort": ["5985", "5986"], "RemotePort": ["Any"], "RemoteAddress": ["10.10.0.0/255.255.255.0"],
        "Profile": "Public", "PolicyStoreSource": "Hospital Workstations - Firewall"}]
    sim.write("firewall", state)
    assert lab.playbook("site.yml").returncode == 0
    assert sim.read("firewall")["profiles"]["Public"]["Enabled"] is True
    assert lab.playbook("drift.yml").returncode == 0
    controls = lab.controls(HOST)
    for cid in ("FW-MGMT-WINRM", "FW-LRM-BLOCK-HTTP", "FW-LRM-BLOCK-HTTPS"):
        assert controls[cid]["status"] == "manual", controls[cid]
        assert "Group Policy sets AllowLocalFirewallRules=False on public" in controls[cid]["message"]
    assert "mgmt-winrm" in {r["Name"] for r in sim.read("firewall")["rules"]}  # still managed locally


def test_a_profile_that_blocks_all_incoming_connections_is_never_switched_on_under_winrm(lab):
    """'Block all incoming connections' (AllowInboundRules False, set locally) on public, which is off: every
    inbound rule, mgmt-winrm included, is ignored there, so switching public on would cut WinRM off. Refused
    before any change, naming the variable and what to do; once public is on and blocking anyway (WinRM comes
    in over another network), the run changes nothing there and reports the owned rules manual."""
    sim = lab.sim(HOST)
    state = sim.read("firewall")
    state["profiles"]["Public"]["AllowInboundRules"] = False
    sim.write("firewall", state)
    before = lab.fingerprint(HOST, include_calls=False)
    refused = lab.playbook("site.yml")
    assert refused.returncode != 0
    text = output(refused)
    assert "firewall_profiles_enabled" in text and "enabling the public profile would block inbound WinRM" in text
    assert "Set-NetFirewallProfile -Name Public -AllowInboundRules True" in text
    assert lab.fingerprint(HOST, include_calls=False) == before  # gathered, nothing changed

    state["profiles"]["Public"]["Enabled"] = True  # switched on by hand: public admits nothing now
    sim.write("firewall", state)
    assert lab.playbook("site.yml").returncode == 0
    assert sim.read("firewall")["profiles"]["Public"] == state["profiles"]["Public"]  # left as it was
    winrm = lab.controls(HOST)["FW-MGMT-WINRM"]
    assert winrm["status"] == "fixed" and "AllowInboundRules=False is set locally on public" in winrm["message"]
    assert lab.playbook("drift.yml").returncode == 0
    assert lab.controls(HOST)["FW-MGMT-WINRM"]["status"] == "manual"
