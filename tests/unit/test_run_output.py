"""What a run prints and writes: the summary table, the verdict, one "fixed", junit totals, file modes, the schema."""

import json
import os
import pathlib
import re
import xml.etree.ElementTree as ET

import jsonschema
import pytest
import yaml

from ansible_collections.meddev.hardening.plugins.callback import compliance_report
from ansible_collections.meddev.hardening.plugins.module_utils.controls import STATUSES
from ansible_collections.meddev.hardening.plugins.plugin_utils import report, report_junit

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "report.schema.json").read_text(encoding="utf-8"))
LONG = "pacs-archive-01.radiology.st-example-hospital.example"


def control(cid, status, title=None):
    return {"id": cid, "title": title or f"title of {cid}", "source": ["SRC-LRM-9"], "status": status,
            "expected": "on", "actual": "off", "message": ""}


def controls(prefix, **counts):
    return [control(f"{prefix}-{status}-{i}", status) for status, n in counts.items() for i in range(n)]


def host(rec, name, items, audit_only=False, calls=2):
    rec.add_result(name, {"host_calls": calls, "controls": items,
                          "meddev_host": {"customer": "st-a", "site": "lab", "audit_only": audit_only}})


def lab_like(mode="check", **enforced):
    """An enforced host (counts given), an audit-only host in drift and a host with a long name."""
    rec = report.RunRecorder()
    host(rec, "lrm-01", controls("FW", **(enforced or {"compliant": 3, "drift": 2})))
    host(rec, "mr-01", controls("BL", compliant=1, drift=4), audit_only=True)
    host(rec, LONG, controls("AV", compliant=2))
    return rec, rec.build(mode, generated="2026-11-23T10:00:00Z", inventory=["inv"])


def columns(line):
    """End position of each right-aligned number in a table row."""
    return [m.end() for m in re.finditer(r"\d+\*?", line)]


def test_table_has_full_column_names_a_round_trips_header_and_stays_aligned_with_long_host_names():
    data = lab_like()[1]
    lines = report.summary_lines(data, "/tmp/r/20261123T100000Z")
    header = lines[1]
    assert header.split() == ["host", "round", "trips", *STATUSES]  # nothing cut: not "complian", "not_appl"
    assert any(line.startswith("round trips: calls to the host") for line in lines)  # the legend says what it is
    rows = lines[2:6]
    assert [r.split()[0] for r in rows] == ["lrm-01", "mr-01", LONG, "total"]
    ends = {tuple(columns(r.replace(LONG, "x" * len(LONG)))[-8:]) for r in rows}
    assert len(ends) == 1  # every count column ends at the same place in every row, the long name included
    assert ends.pop()[-1] == len(header)


def test_audit_only_drift_is_marked_explained_and_not_gated():
    data = lab_like(compliant=5)[1]
    lines = report.summary_lines(data, "/tmp/r/x")
    mr = next(line for line in lines if line.startswith("mr-01"))
    assert " 4*" in mr and mr.endswith("audit-only")
    assert any("drift*: on an audit-only host, reported, never changed" in line for line in lines)
    assert any(line.startswith("  AUDIT-ONLY 4 drift* on 1 host (mr-01 4)") for line in lines)
    assert not any(line.startswith("  DRIFT") for line in lines)  # the vendor's drift is not listed as a problem
    assert data["gate"]["passed"] is True
    assert lines[-2] == ("GATE PASSED: no control in drift or failed on 2 enforced hosts; "
                         "audit-only: 4 in drift on 1 host, not gated")


def test_every_run_ends_with_one_verdict_line_and_the_html_path(tmp_path):
    data = lab_like()[1]
    lines = report.summary_lines(data, tmp_path / "20261123T100000Z", notes=["report retention: removed old run x"])
    assert [line for line in lines if line.startswith("GATE ")] == [lines[-2]]
    assert lines[-2] == "GATE FAILED: 2 in drift on 1 enforced host; audit-only: 4 in drift on 1 host, not gated"
    assert lines[-1] == f"HTML report: {tmp_path}/20261123T100000Z/report.html"
    assert lines[-3] == "report retention: removed old run x"  # notes come before the verdict
    assert data["gate"]["reason"] in lines[-2] and data["gate"]["passed"] is False
    assert (data["gate"]["enforced_drift"], data["gate"]["audit_only_drift"]) == (2, 4)


def test_paths_under_the_working_directory_are_shown_relative(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = lab_like()[1]
    lines = report.summary_lines(data, tmp_path / "reports" / "20261123T100000Z")
    assert lines[0] == "meddev.hardening check report: reports/20261123T100000Z/report.json"
    assert lines[-1] == "HTML report: reports/20261123T100000Z/report.html"


@pytest.mark.parametrize(("setup", "passed", "reason"), [
    (lambda rec: rec.add_unreachable("gone-01", "timed out"), False, "1 host unreachable (gone-01)"),
    (lambda rec: rec.add_result("bad-01", {"failed": True, "msg": "x: bad"}, "Validate"), False,
     "1 host failed (bad-01)"),
    (lambda rec: host(rec, "f-01", controls("FW", failed=2)), False, "2 failed controls"),
    (lambda rec: host(rec, "ao-01", controls("FW", failed=1), audit_only=True), False, "1 failed control"),
    (lambda rec: (host(rec, "ao-01", controls("FW", drift=3), audit_only=True), rec.add_gate_failure("ao-01")),
     False, "3 in drift on 1 audit-only host (drift_fail_on_audit_only)"),
    (lambda rec: host(rec, "ao-01", controls("FW", drift=3), audit_only=True), True,
     "no control in drift or failed on 1 enforced host; audit-only: 3 in drift on 1 host, not gated"),
])
def test_gate_fails_on_what_leaves_a_host_unchecked_or_out_of_line(setup, passed, reason):
    rec = report.RunRecorder()
    host(rec, "ok-01", controls("FW", compliant=2))
    setup(rec)
    data = rec.build("check", generated="2026-11-23T10:00:00Z")
    assert data["gate"]["passed"] is passed
    assert reason in data["gate"]["reason"]


def test_apply_and_investigate_verdicts_say_why():
    data = lab_like("apply", compliant=2, fixed=3)[1]
    assert data["gate"]["reason"].startswith("3 fixed, none failed, no drift left on 2 enforced hosts")
    rec = report.RunRecorder()
    rec.add_result("iis-01", {"host_calls": 1, "findings": [{"kind": "iis_log", "source": "SRC-LRM-12"}]})
    rec.add_result("lrm-01", {"host_calls": 1, "findings": []})
    assert rec.build("investigate")["gate"] == {
        "passed": False, "reason": "1 finding on 1 host need a look (iis-01)", "enforced_drift": 0,
        "audit_only_drift": 0, "failed_controls": 0, "unreachable_hosts": 0, "failed_hosts": 0, "findings": 1}
    rec = report.RunRecorder()
    rec.add_result("lrm-01", {"host_calls": 1, "findings": []})
    assert rec.build("investigate")["gate"]["reason"] == "no finding on 1 host"


def test_one_definition_of_fixed_the_since_line_and_the_table_agree():
    """The lab's 112 vs 110: IQW-EXCLUSION was drift, and is compliant after the apply because the
    av_exclusions role added the same exclusion earlier in the run. It is resolved, not fixed."""
    rec = report.RunRecorder()
    host(rec, "iqwebx-01", [control("AV-EXCL", "drift"), control("IQW-EXCLUSION", "drift"), control("OK", "compliant")])
    before = rec.build("check", generated="2026-11-23T10:00:00Z", inventory=["inv"])
    rec = report.RunRecorder()
    host(rec, "iqwebx-01", [control("AV-EXCL", "fixed"), control("IQW-EXCLUSION", "compliant"),
                            control("OK", "drift"), control("NEW", "fixed")])
    after = rec.build("apply", generated="2026-11-23T10:01:00Z", inventory=["inv"])
    after["since_last_run"] = report.since_last_run(after, before, "20261123T100000Z")
    since = after["since_last_run"]
    assert len(since["fixed"]) == after["summary"]["fixed"] == 2
    assert [i["id"] for i in since["fixed"]] == ["AV-EXCL", "NEW"]
    assert [i["id"] for i in since["resolved"]] == ["IQW-EXCLUSION"]
    assert [i["id"] for i in since["newly_drifted"]] == ["OK"] and [i["id"] for i in since["new"]] == ["NEW"]
    lines = report.summary_lines(after)
    total = next(line for line in lines if line.startswith("total")).split()
    fixed_column = total[1 + STATUSES.index("fixed") + 1]
    assert ("since 20261123T100000Z: 1 newly drifted, 2 fixed, 1 resolved without a change of their own, 1 new"
            in lines) and fixed_column == "2"
    assert "  RESOLVED iqwebx-01  IQW-EXCLUSION (was drift, now compliant)" in lines


def test_junit_totals_timestamp_and_failure_messages():
    rec, _data = lab_like()
    rec.add_unreachable("gone-01", "timed out")
    data = rec.build("check", generated="2026-11-23T10:00:00Z")
    root = ET.fromstring(report_junit.junit(data))  # noqa: S314 - XML this code just wrote
    assert root.tag == "testsuites" and root.get("timestamp") == "2026-11-23T10:00:00Z"
    suites = list(root)
    for key in ("tests", "failures", "errors", "skipped"):
        assert int(root.get(key)) == sum(int(s.get(key)) for s in suites)
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("13", "2", "1", "4")
    assert all(s.get("timestamp") == "2026-11-23T10:00:00Z" for s in suites)
    failure = root.find(".//failure")
    assert failure.get("message") == "title of FW-drift-0: expected on, found off" and failure.get("type") == "drift"
    skipped = root.find(".//testcase[@name='BL-drift-0: title of BL-drift-0']/skipped")
    assert skipped.get("message").startswith("audit-only host, drift reported, not changed: title of BL-drift-0")


def test_report_files_are_readable_by_others_whatever_the_umask(tmp_path):
    data = lab_like()[1]
    old = os.umask(0o077)
    try:
        folder = report.write(data, tmp_path / "reports", {"junit.xml": "<x/>", "report.html": "<p>"})
    finally:
        os.umask(old)
    assert folder.stat().st_mode & 0o777 == 0o755
    assert {p.name: p.stat().st_mode & 0o777 for p in folder.iterdir()} == {
        "report.json": 0o644, "junit.xml": 0o644, "report.html": 0o644}
    assert not [p for p in folder.iterdir() if p.name.startswith(".tmp-")]


def test_file_mode_0600_keeps_reports_private_and_bad_modes_are_refused(tmp_path):
    data = lab_like()[1]
    folder = report.write(data, tmp_path, {"junit.xml": "<x/>"}, file_mode=report.parse_file_mode("0600"))
    assert folder.stat().st_mode & 0o777 == 0o700
    assert {p.stat().st_mode & 0o777 for p in folder.iterdir()} == {0o600}
    assert report.folder_mode(0o640) == 0o750
    for bad in ("0755", "0400", "0066", "rw", "", "1644"):
        with pytest.raises(ValueError, match="file_mode"):
            report.parse_file_mode(bad)


def test_reports_match_the_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    rec, _data = lab_like()
    rec.add_unreachable("gone-01", "timed out")
    rec.add_result("bad-01", {"failed": True, "msg": "x: bad"}, "Validate")
    data = rec.build("check", generated="2026-11-23T10:00:00Z", playbook="drift.yml", collection_version="0.1.0",
                     inventory=["inv"], unreachable=["gone-01"])
    data["since_last_run"] = report.since_last_run(data, data, "20261123T000000Z")
    jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert data["schema_version"] == "1"
    for name in ("gone-01", "bad-01"):  # whose and where, even without a module's answer
        assert {"customer", "site", "audit_only"} <= set(data["hosts"][name])
    assert data["hosts"]["bad-01"]["failed"] is True and data["hosts"]["gone-01"]["failed"] is False
    broken = json.loads(json.dumps(data))
    del broken["gate"]["reason"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA, cls=jsonschema.Draft202012Validator)


def test_the_summary_sample_in_docs_report_md_is_what_summary_lines_prints():
    text = (ROOT / "docs" / "report.md").read_text(encoding="utf-8")
    sample = text.split("## The summary printed after every run", 1)[1].split("```\n", 2)[1].splitlines()
    rec = report.RunRecorder()
    host(rec, "cs-directview-01", controls("BL", compliant=7, drift=22, not_applicable=9, manual=1), True, calls=3)
    host(rec, "lrm-miseq-01", controls("FW", compliant=39, not_applicable=8, manual=1), calls=4)
    data = rec.build("check", generated="2026-11-23T12:00:00Z")
    assert report.summary_lines(data, "reports/20261123T120000Z") == sample


def test_the_callback_doc_names_all_three_outputs_and_its_options():
    doc = yaml.safe_load(compliance_report.DOCUMENTATION)
    text = " ".join(doc["description"])
    for name in ("report.json", "junit.xml", "report.html", "GATE PASSED", "GATE FAILED"):
        assert name in text, name
    assert set(doc["options"]) == {"report_dir", "keep", "file_mode"}
    assert doc["options"]["file_mode"]["default"] == "0644"
