"""The baseline catalog and its plan: ranges, error 87, protected services, formats, the doc."""

import copy
import pathlib

import controls_doc
import pytest
import yaml

from ansible_collections.meddev.hardening.plugins.module_utils import baseline
from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError

ROOT = pathlib.Path(__file__).resolve().parents[2]
RAW = yaml.safe_load((ROOT / "roles/baseline/vars/main.yml").read_text())["baseline_catalog"]
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
    assert {e["mechanism"] for e in RAW} == set(baseline.MECHANISMS)


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
