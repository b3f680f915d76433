"""drift_investigate: the nightly drift job also runs the read-only IIS log and host evidence scan (SRC-LRM-12, -13)."""

import pytest

HOST = "lrm-miseq-01"
pytestmark = pytest.mark.integration


def output(result):
    return result.stdout + result.stderr


def test_drift_investigate_puts_the_indicators_in_the_drift_report(lab):
    before = lab.fingerprint(HOST, include_calls=False)
    result = lab.playbook("drift.yml", extra={"drift_investigate": True})
    # The lab host drifts: the gate fails, but the scan ran first and its findings are in the report.
    assert result.returncode != 0, output(result)
    assert lab.fingerprint(HOST, include_calls=False) == before  # read only, like the rest of drift.yml
    report = lab.latest_report()
    assert report["mode"] == "check"
    findings = report["hosts"][HOST]["findings"]
    assert {f["uri"] for f in findings if f["kind"] == "iis_log"} >= {"/hackertool.asp", "/Uploads/cmd.aspx"}
    assert {(f["kind"], f.get("id")) for f in findings if f["kind"] != "iis_log"} == {
        ("defender_detection", None), ("event", 7045)}
    statuses = {c["id"]: c["status"] for c in report["hosts"][HOST]["controls"]}
    assert statuses["IR-IIS-LOGS"] == "manual" and statuses["IR-EVENTS"] == "manual"
    modules = [c["module"] for c in lab.calls(HOST)]
    assert modules[:2] == ["iis_log_scan", "host_evidence"]


def test_drift_investigate_since_limits_the_window_to_new_indicators(lab):
    window = {"drift_investigate": True, "drift_investigate_since": "2026-11-21T00:00:00Z"}
    result = lab.playbook("drift.yml", extra=window)
    assert "iis_log_scan" in [c["module"] for c in lab.calls(HOST)], output(result)
    assert lab.latest_report()["hosts"][HOST]["findings"] == []


def test_off_by_default_no_scan_and_no_extra_round_trip(lab):
    lab.playbook("drift.yml")
    assert {"iis_log_scan", "host_evidence"}.isdisjoint(c["module"] for c in lab.calls(HOST))
    assert not any(c["id"].startswith("IR-") for c in lab.latest_report()["hosts"][HOST]["controls"])


def test_bad_since_is_refused_by_the_preflight_before_any_host_call(lab):
    result = lab.playbook("drift.yml", extra={"drift_investigate": True, "drift_investigate_since": "yesterday"})
    assert result.returncode != 0 and "drift_investigate_since" in output(result)
    assert lab.calls(HOST) == []
    # Not asked for: the same value is not the preflight's business.
    lab.playbook("drift.yml", extra={"drift_investigate_since": "yesterday"})
    assert lab.calls(HOST)
