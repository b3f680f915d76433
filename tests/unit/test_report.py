"""report.json: schema, totals, latest pointer, and the one-screen summary."""

import json

from ansible_collections.meddev.hardening.plugins.plugin_utils import report


def control(cid, status):
    return {"id": cid, "title": cid, "source": ["SRC-LRM-9"], "status": status,
            "expected": "on", "actual": "off", "message": ""}


def recorded():
    rec = report.RunRecorder()
    rec.add_result("b-host", {"host_calls": 2, "controls": [control("FW-1", "fixed"), control("FW-2", "compliant")]})
    rec.add_result("a-host", {"host_calls": 1, "controls": [control("FW-1", "drift")]})
    rec.add_result("a-host", {"results": [{"host_calls": 1, "controls": [control("FW-3", "failed")]},
                                          {"skipped": True}]})
    rec.add_result("a-host", {"failed": True, "msg": "firewall_rules[0].local_ports: bad"}, "Enforce firewall")
    rec.add_unreachable("c-host", "timed out")
    return rec


def test_report_schema_and_totals():
    data = recorded().build("apply", generated="2026-11-23T10:00:00Z")
    assert set(data) >= {"generated", "mode", "hosts", "summary"}
    assert list(data["hosts"]) == ["a-host", "b-host", "c-host"]
    assert data["hosts"]["a-host"]["round_trips"] == 2
    assert [c["id"] for c in data["hosts"]["a-host"]["controls"]] == ["FW-1", "FW-3"]
    assert data["hosts"]["a-host"]["errors"] == ["Enforce firewall: firewall_rules[0].local_ports: bad"]
    assert data["hosts"]["c-host"]["unreachable"] is True
    assert data["summary"] == {"compliant": 1, "drift": 1, "fixed": 1, "failed": 1, "not_applicable": 0,
                               "manual": 0, "deferred": 0}


def test_write_points_latest_at_the_newest_report(tmp_path):
    first = report.write(recorded().build("check", generated="2026-11-23T10:00:00Z"), tmp_path)
    second = report.write(recorded().build("apply", generated="2026-11-23T10:00:00Z"), tmp_path)
    assert first != second  # same second, distinct folders
    latest = json.loads((tmp_path / "latest" / "report.json").read_text())
    assert latest["mode"] == "apply"
    assert json.loads((first / "report.json").read_text())["mode"] == "check"


def test_summary_names_every_problem_and_fits_a_screen():
    lines = report.summary_lines(recorded().build("check"))
    text = "\n".join(lines)
    assert "DRIFT   a-host  FW-1" in text and "FAILED  a-host  FW-3" in text
    assert "UNREACHABLE" in text and "FW-2" not in text
    assert len(lines) < 25 and max(map(len, lines)) <= 120


def test_problem_controls_filter():
    results = [{"controls": [control("A", "drift"), control("B", "compliant")]},
               {"results": [{"controls": [control("C", "failed")]}]}, {}]
    assert [c["id"] for c in report.problem_controls(results)] == ["A", "C"]
