"""investigate.yml on the lab: finds every planted attack, no false positive, changes nothing."""

import pytest

HOST = "lrm-miseq-01"
pytestmark = pytest.mark.integration


def test_investigation_finds_the_planted_attacks_and_only_them(lab):
    before = lab.fingerprint(HOST, include_calls=False)
    result = lab.playbook("investigate.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert lab.fingerprint(HOST, include_calls=False) == before
    assert [c["module"] for c in lab.calls(HOST)] == ["iis_log_scan", "host_evidence"]
    report = lab.latest_report()
    assert report["mode"] == "investigate"
    findings = report["hosts"][HOST]["findings"]
    iis = [f for f in findings if f["kind"] == "iis_log"]
    assert {f["client_ip"] for f in iis} == {"203.0.113.66"}  # nothing from the normal clients
    assert len(iis) == 7 and {f["uri"] for f in iis} >= {"/hackertool.asp", "/Uploads/cmd.aspx"}
    assert all(f["source"] == "SRC-LRM-12" and f["file"].endswith("u_ex261120.log") for f in iis)
    others = {(f["kind"], f.get("id")) for f in findings if f["kind"] != "iis_log"}
    assert others == {("defender_detection", None), ("event", 7045)}  # 7036/4624 are normal
    statuses = {c["id"]: c["status"] for c in report["hosts"][HOST]["controls"]}
    assert statuses == {"IR-IIS-LOGS": "manual", "IR-DEFENDER": "manual", "IR-EVENTS": "manual"}


def test_since_limits_the_window(lab):
    result = lab.playbook("investigate.yml", extra={"investigate_since": "2026-11-21T00:00:00Z"})
    assert result.returncode == 0
    assert lab.latest_report()["hosts"][HOST]["findings"] == []
    assert {c["status"] for c in lab.latest_report()["hosts"][HOST]["controls"]} == {"compliant"}


def test_bad_since_is_refused_before_the_host(lab):
    result = lab.playbook("investigate.yml", extra={"investigate_since": "yesterday"})
    assert result.returncode != 0 and "since" in result.stdout and "UTC time" in result.stdout
    assert lab.calls(HOST) == []


def test_passive_defender_is_never_reported_as_no_detections(lab):
    sim = lab.sim(HOST)
    defender = sim.read("defender")
    defender["running_mode"] = "Passive Mode"  # another antivirus product is the active one
    sim.write("defender", defender)
    result = lab.playbook("investigate.yml", extra={"investigate_since": "2026-11-21T00:00:00Z"})
    assert result.returncode == 0, result.stdout + result.stderr
    control = {c["id"]: c for c in lab.latest_report()["hosts"][HOST]["controls"]}["IR-DEFENDER"]
    assert control["status"] == "manual" and "Passive Mode" in control["message"]
