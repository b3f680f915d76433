"""The baseline catalog and its plan: ranges, error 87, protected services, formats, the doc."""

import copy
import pathlib
import re

import controls_doc
import pytest
import yaml

from ansible_collections.meddev.hardening.plugins.module_utils import baseline, winsim
from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError
from ansible_collections.meddev.hardening.plugins.modules import baseline as baseline_sim
from ansible_collections.meddev.hardening.plugins.plugin_utils import winsim_profiles

ROOT = pathlib.Path(__file__).resolve().parents[2]
RAW = yaml.safe_load((ROOT / "roles/baseline/defaults/main/main.yml").read_text())["baseline_catalog"]
VALUES = {"baseline_password_history": 24, "baseline_password_min_length": 14, "baseline_password_max_age": 365,
          "baseline_password_min_age": 1, "baseline_password_complexity": True, "baseline_lockout_threshold": 5,
          "baseline_lockout_duration": 15, "baseline_lockout_reset": 15, "baseline_idle_lock_minutes": 15,
          "baseline_audit_logon": "success_and_failure", "baseline_audit_account_management": "success",
          "baseline_audit_policy_change": "success", "baseline_disabled_services": ["RemoteRegistry"],
          "baseline_ms17_010_kbs": ["KB4013429"], "baseline_bitlocker_methods": ["XtsAes128"]}


def catalog(**overrides):
    """The catalog as the role templates it, with optional controls off unless enabled here."""
    out = []
    for raw in copy.deepcopy(RAW):
        variable = raw.get("variable")
        values = {**VALUES, **overrides}
        if isinstance(raw.get("value"), str) and "{{" in raw["value"]:
            raw["value"] = values.get(variable, "x")
        if "enabled" in raw:
            raw["enabled"] = bool(overrides.get(f"enable_{raw['id']}", False))
        out.append(raw)
    return out


def test_generated_table_is_in_sync():
    assert (ROOT / "docs/controls.md").read_text() == controls_doc.render(), \
        "docs/controls.md is stale: python tests/tools/controls_doc.py > docs/controls.md"


def test_catalog_ids_are_unique_and_every_control_cites_a_source():
    ids = [e["id"] for e in RAW]
    assert len(ids) == len(set(ids)) and all(e.get("source") for e in RAW)
    assert {e["mechanism"] for e in RAW} <= set(baseline.MECHANISMS)


@pytest.mark.parametrize(("variable", "value", "allowed"), [
    ("baseline_password_history", 25, "0-24"),
    ("baseline_password_min_length", 15, "0-14"),
    ("baseline_password_max_age", 0, "1-999"),
    ("baseline_lockout_duration", 0, "1-99999"),
    ("baseline_lockout_threshold", 1000, "0-999"),
    ("baseline_idle_lock_minutes", 1000, "1-999"),
])
def test_out_of_range_values_name_the_variable_and_range(variable, value, allowed):
    with pytest.raises(ArgumentError) as error:
        baseline.validate({"catalog": catalog(**{variable: value})}, "baseline_")
    assert error.value.variable == variable and allowed in str(error.value)


def test_reset_longer_than_duration_is_refused_before_the_host():
    with pytest.raises(ArgumentError) as error:
        baseline.validate({"catalog": catalog(baseline_lockout_reset=30, baseline_lockout_duration=15)})
    assert error.value.variable == "baseline_lockout_reset" and "error 87" in str(error.value)


@pytest.mark.parametrize("service", ["WinRM", "winrm", "EventLog", "Local Run Manager Job Service"])
def test_services_management_or_products_need_are_refused(service):
    with pytest.raises(ArgumentError, match="never be disabled"):
        baseline.validate({"catalog": catalog(baseline_disabled_services=["SSDPSRV", service])}, "baseline_")


def test_inf_and_auditpol_round_trip():
    inf = baseline.render_inf({"MinimumPasswordLength": 14, "LockoutDuration": 15})
    parsed = baseline.parse_inf("\ufeff" + inf)["System Access"]
    assert parsed == {"MinimumPasswordLength": "14", "LockoutDuration": "15"}
    assert inf.startswith("[Unicode]\r\nUnicode=yes\r\n[System Access]") and 'signature="$CHICAGO$"' in inf
    csv = baseline.render_auditpol({"{0CCE9215-69AE-11D9-BED3-505054503030}": ("Logon", "success_and_failure")})
    assert baseline.parse_auditpol(csv) == {"{0CCE9215-69AE-11D9-BED3-505054503030}": "success_and_failure"}


def test_plan_batches_one_change_per_mechanism_and_pairs_lockout_values():
    desired = baseline.validate({"catalog": catalog(baseline_lockout_reset=10)})
    gathered = {"secpol_inf": "[System Access]\nLockoutDuration = 15\nResetLockoutCount = 30\n",
                "services": {"RemoteRegistry": {"StartType": "Manual", "Status": "Stopped"}}}
    plan = baseline.plan(desired, gathered)
    assert [c.kind for c in plan.changes] == ["set_registry", "apply_secpol", "apply_auditpol", "disable_services"]
    secpol = baseline.parse_inf(plan.changes[1].params["inf"])["System Access"]
    assert secpol["ResetLockoutCount"] == "10" and secpol["LockoutDuration"] == "15"


def test_disabled_optional_controls_are_reported_not_applicable():
    plan = baseline.plan(baseline.validate({"catalog": catalog()}), {})
    by_id = {c.id: c for c in plan.controls}
    wsus = by_id["BL-WSUS-SERVER"]
    assert wsus.status == "not_applicable" and "baseline_wsus_server" in wsus.message
    assert {c.id for c in plan.controls} >= {e["id"] for e in RAW if e["mechanism"] != "service"}


def test_check_only_controls_are_manual_never_changed():
    gathered = {"hotfixes": [], "os_build": 14393, "bitlocker": {"protection_status": "Off"}}
    plan = baseline.plan(baseline.validate({"catalog": catalog()}), gathered)
    by_id = {c.id: c for c in plan.controls}
    assert by_id["BL-MS17-010"].status == "manual" and by_id["BL-BITLOCKER"].status == "manual"
    assert not [c for c in plan.changes if c.control in ("BL-MS17-010", "BL-BITLOCKER")]
    newer = baseline.plan(baseline.validate({"catalog": catalog()}), {**gathered, "os_build": 19045})
    assert {c.id: c for c in newer.controls}["BL-MS17-010"].status == "compliant"


def fresh_host_plan(tmp_path, **overrides):
    host = winsim.seed(tmp_path / "h", "carestream_imagesuite", winsim_profiles.load("carestream_imagesuite"))
    desired = baseline.validate({"catalog": catalog(**overrides)})
    registry = [{"path": e.spec["path"], "name": e.spec["name"]} for e in desired.entries if e.mechanism == "registry"]
    state = baseline_sim.gather(host, {"registry_values": registry, "services": ["RemoteRegistry", "SSDPSRV"]})
    return baseline.plan(desired, state)


def test_diff_names_every_setting_old_to_new_grouped_by_control(tmp_path):
    """--diff on a fresh lab host (Windows 10 LTSB as installed): not "8 setting(s) differ" but each value."""
    plan = fresh_host_plan(tmp_path, baseline_disabled_services=["RemoteRegistry", "SSDPSRV"])
    diff = plan.diff("Windows baseline")
    text = diff[-1]["prepared"]
    for line in ("  PasswordHistorySize: 0 \u2192 24", "  MinimumPasswordLength: 0 \u2192 14",
                 "  LockoutBadCount: 0 \u2192 5", "  LockoutDuration: 30 \u2192 15",
                 "  HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters\\SMB1: 1 \u2192 0",
                 "  HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\InactivityTimeoutSecs: "
                 "absent \u2192 900",
                 "  Logon {0CCE9215-69AE-11D9-BED3-505054503030}: Success \u2192 Success and Failure",
                 "  SSDPSRV: manual, running \u2192 disabled, stopped"):
        assert line + "\n" in text, text
    drifted = [c for c in plan.controls if c.status == "drift"]
    assert drifted and all(f"{c.id} ({c.title})\n" in text for c in drifted)
    # grouped: each setting line sits under its control's line
    assert re.search(r"BL-PW-HISTORY \(Passwords remembered\)\n  PasswordHistorySize: 0 \u2192 24\n", text)
    count = sum(1 for line in text.splitlines() if line.startswith("  "))
    assert count == len(drifted)  # one setting per control in today's catalog
    assert "setting(s) differ, each listed below" in diff[0]["before"]


def test_diff_never_shows_the_value_of_a_no_log_setting(tmp_path):
    raw = catalog()
    for entry in raw:
        if entry["id"] == "BL-PW-HISTORY":
            entry["no_log"] = True
    gathered = {"secpol_inf": "[System Access]\nPasswordHistorySize = 3\n"}
    plan = baseline.plan(baseline.validate({"catalog": raw}), gathered)
    text = plan.diff("Windows baseline")[-1]["prepared"]
    assert "PasswordHistorySize: (hidden: no_log) \u2192 (hidden: no_log)" in text and " 24" not in text
    control = {c.id: c for c in plan.controls}["BL-PW-HISTORY"]
    assert "24" not in control.expected and "3" not in control.actual


def test_no_change_means_no_diff(tmp_path):
    plan = baseline.plan(baseline.validate({"catalog": [e for e in catalog() if e["mechanism"] == "hotfix"]}), {})
    assert not plan.changes and not plan.file_diffs
