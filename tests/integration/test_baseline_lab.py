"""The baseline on the lab: round trips, idempotence, every control reported, bad input refused."""

import re

import pytest
import yaml
from labkit import ROOT, Lab

CATALOG = [e["id"] for e in
           yaml.safe_load((ROOT / "roles/baseline/defaults/main/main.yml").read_text())["baseline_catalog"]]
pytestmark = pytest.mark.integration


@pytest.fixture
def workstation(tmp_path):
    return Lab(tmp_path, only=("cs-imagesuite-01", "philips-mr-01"))


def baseline_calls(lab, host):
    return [c["phase"] for c in lab.calls(host, "baseline")]


def test_round_trips_idempotence_and_error_87_never_reached(workstation):
    host = "cs-imagesuite-01"
    assert workstation.playbook("site.yml", "--check").returncode == 0
    assert baseline_calls(workstation, host) == ["gather"]
    assert len(workstation.calls(host)) <= 6
    before = len(workstation.calls(host))
    result = workstation.playbook("site.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert baseline_calls(workstation, host) == ["gather", "gather", "apply"]
    assert len(workstation.calls(host)) - before <= 10
    secpol = workstation.sim(host).read("secpol")["System Access"]
    assert secpol["PasswordHistorySize"] == "24" and secpol["ResetLockoutCount"] == "15"
    again = workstation.playbook("site.yml")
    recap = re.search(rf"^{host}\s*:.*changed=(\d+)", again.stdout, re.M)
    assert recap and recap.group(1) == "0", again.stdout[-2000:]
    assert baseline_calls(workstation, host)[-1] == "gather"


def test_every_catalog_control_reported_on_every_host(workstation):
    assert workstation.playbook("drift.yml").returncode != 0  # the workstation drifts
    for host in workstation.hosts:
        ids = {c["id"] for c in workstation.latest_report()["hosts"][host]["controls"]}
        assert set(CATALOG) - {"BL-SVC"} <= ids  # BL-SVC is reported per service, as BL-SVC-<name>
        assert any(i.startswith("BL-SVC-") for i in ids)


def test_audit_only_console_is_read_and_reported_not_gated(workstation):
    before = workstation.fingerprint("philips-mr-01", include_calls=False)
    assert workstation.playbook("site.yml").returncode == 0
    assert workstation.fingerprint("philips-mr-01", include_calls=False) == before
    drift = workstation.playbook("drift.yml", "-l", "philips-mr-01")
    assert drift.returncode == 0  # reported, not the hospital's to fix
    statuses = {c["status"] for c in workstation.latest_report()["hosts"]["philips-mr-01"]["controls"]}
    assert "drift" in statuses
    gated = workstation.playbook("drift.yml", "-l", "philips-mr-01", extra={"drift_fail_on_audit_only": True})
    assert gated.returncode != 0


@pytest.mark.parametrize(("extra", "variable", "allowed"), [
    ({"baseline_password_history": 25}, "baseline_password_history", "0-24"),
    ({"baseline_lockout_duration": 0}, "baseline_lockout_duration", "1-99999"),
    ({"baseline_lockout_reset": 60, "baseline_lockout_duration": 30}, "baseline_lockout_reset", "1-30"),
    ({"baseline_disabled_services": ["WinRM"]}, "baseline_disabled_services", "never be disabled"),
    ({"baseline_skip": [{"id": "BL-NOPE", "reason": "x"}]}, "baseline_skip[0].id", "docs/controls.md"),
])
def test_bad_values_fail_before_any_host_call(workstation, extra, variable, allowed):
    result = workstation.playbook("site.yml", "-l", "cs-imagesuite-01", extra=extra)
    assert result.returncode != 0 and variable in result.stdout and allowed in result.stdout
    assert baseline_calls(workstation, "cs-imagesuite-01") == []


def test_check_diff_names_every_setting_with_old_and_new_value(workstation):
    """--check --diff: a reviewer sees each value apply would change, grouped by control, before approving."""
    host = "cs-imagesuite-01"
    before = workstation.fingerprint(host, include_calls=False)
    result = workstation.playbook("site.yml", "--check", "--diff", "-l", host)
    assert result.returncode == 0, result.stdout[-3000:]
    for line in ("BL-PW-HISTORY (Passwords remembered)\n  PasswordHistorySize: 0 \u2192 24\n",
                 "  MinimumPasswordLength: 0 \u2192 14\n",
                 "  Logon {0CCE9215-69AE-11D9-BED3-505054503030}: Success \u2192 Success and Failure\n",
                 "  HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters\\SMB1: 1 \u2192 0\n"):
        assert line in result.stdout, result.stdout[-4000:]
    assert "setting(s) differ, each listed below" in result.stdout
    assert workstation.fingerprint(host, include_calls=False) == before
    assert baseline_calls(workstation, host) == ["gather"]


def test_an_unpatched_build_is_drift_reported_never_failed_or_changed_by_the_apply(workstation):
    """BL-MS17-010 is check-only: on 14393.0 the other controls are applied, MS17-010 stays drift."""
    host = "cs-imagesuite-01"
    workstation.sim(host).write("hotfixes", {"installed": [], "os_build": 14393, "ubr": 0})
    result = workstation.playbook("site.yml", "-l", host)
    assert result.returncode == 0, result.stdout[-3000:]
    assert baseline_calls(workstation, host) == ["gather", "apply"]
    assert workstation.sim(host).read("hotfixes") == {"installed": [], "os_build": 14393, "ubr": 0}
    workstation.playbook("drift.yml", "-l", host)
    control = workstation.controls(host)["BL-MS17-010"]
    assert control["status"] == "drift" and control["actual"] == "14393.0"
    assert control["expected"] == "build 14393.953 or later (KB4013429)" and "check-only" in control["message"]


def test_the_seeded_patched_hosts_are_compliant_on_ms17_010_without_the_march_2017_kb(workstation):
    workstation.playbook("drift.yml")
    control = workstation.controls("cs-imagesuite-01")["BL-MS17-010"]
    assert control["status"] == "compliant" and control["actual"] == "14393.6709"


def test_inventory_overrides_a_catalog_value_and_skips_a_control(workstation):
    """The catalog is a role default: group_vars and host_vars files next to the inventory win over it."""
    host = "cs-imagesuite-01"
    (workstation.root / "group_vars").mkdir()
    (workstation.root / "group_vars" / "lab.yml").write_text(yaml.safe_dump({"baseline_password_history": 20}))
    (workstation.root / "host_vars").mkdir()
    (workstation.root / "host_vars" / f"{host}.yml").write_text(yaml.safe_dump(
        {"baseline_skip": [{"id": "BL-LOCKOUT-THRESHOLD", "reason": "vendor service account (ticket 4711)"}]}))
    threshold = workstation.sim(host).read("secpol")["System Access"].get("LockoutBadCount")
    result = workstation.playbook("site.yml", "-l", host)
    assert result.returncode == 0, result.stdout[-3000:]
    secpol = workstation.sim(host).read("secpol")["System Access"]
    assert secpol["PasswordHistorySize"] == "20"
    assert secpol.get("LockoutBadCount") == threshold  # skipped: never changed
    workstation.playbook("drift.yml", "-l", host)
    controls = workstation.controls(host)
    assert controls["BL-PW-HISTORY"]["status"] == "compliant"
    skipped = controls["BL-LOCKOUT-THRESHOLD"]
    assert skipped["status"] == "not_applicable"
    assert skipped["message"] == "skipped: vendor service account (ticket 4711)"
