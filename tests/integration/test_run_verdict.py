"""The verdict, report.json and its files on real lab runs: what a user sees at the end of a run."""

import json
import os
import pathlib
import re
import subprocess

import jsonschema
import pytest
from labkit import Lab

pytestmark = pytest.mark.integration
ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "report.schema.json").read_text(encoding="utf-8"))
HOST = "lrm-miseq-01"


def valid(report: dict) -> dict:
    jsonschema.validate(report, SCHEMA, cls=jsonschema.Draft202012Validator)
    return report


def tail(result, n=2):
    return result.stdout.rstrip("\n").splitlines()[-n:]


def test_drift_apply_drift_each_end_with_their_verdict_and_valid_reports(lab):
    first = lab.playbook("drift.yml")
    report = valid(lab.latest_report())
    html = (lab.reports / "latest").resolve() / "report.html"
    assert first.returncode != 0 and report["gate"]["passed"] is False
    assert tail(first) == [f"GATE FAILED: {report['gate']['reason']}", f"HTML report: {html}"]
    assert report["gate"]["reason"].startswith(f"{report['gate']['enforced_drift']} in drift on 1 enforced host")
    assert oct((lab.reports / "latest" / "report.json").stat().st_mode & 0o777) == oct(0o644)

    applied = lab.playbook("site.yml")
    report = valid(lab.latest_report())
    assert applied.returncode == 0, applied.stdout[-3000:]
    assert report["gate"]["passed"] is True
    assert tail(applied)[0].startswith(f"GATE PASSED: {report['summary']['fixed']} fixed")
    assert len(report["since_last_run"]["fixed"]) == report["summary"]["fixed"]  # one definition of fixed

    clean = lab.playbook("drift.yml")
    report = valid(lab.latest_report())
    assert clean.returncode == 0 and tail(clean)[0] == "GATE PASSED: no control in drift or failed on 1 enforced host"
    assert sum(line.startswith("GATE ") for line in clean.stdout.splitlines()) == 1


def test_an_unreachable_host_keeps_customer_site_and_audit_only(tmp_path):
    lab = Lab(tmp_path, only=(HOST, "cs-directview-01"))
    result = lab.playbook("drift.yml", extra={"winsim_drop_call": 1})  # the first host call gets no reply
    report = valid(lab.latest_report())
    assert result.returncode != 0 and sorted(report["unreachable"]) == sorted([HOST, "cs-directview-01"])
    lrm, console = report["hosts"][HOST], report["hosts"]["cs-directview-01"]
    assert (lrm["customer"], lrm["site"], lrm["audit_only"]) == ("st-example-hospital", "genomics-lab", False)
    assert (console["customer"], console["site"], console["audit_only"]) == ("st-example-hospital", "radiology", True)
    assert report["gate"]["passed"] is False and report["gate"]["unreachable_hosts"] == 2
    assert tail(result)[0] == "GATE FAILED: 2 hosts unreachable (cs-directview-01, lrm-miseq-01)"
    assert re.search(rf"^{HOST}\s+0(\s+0){{7}}\s+UNREACHABLE$", result.stdout, re.M)


def test_a_host_failed_before_its_check_keeps_customer_site(lab):
    result = lab.playbook("drift.yml", extra={"lrm_patch_state": "bogus"})  # refused by the preflight
    report = valid(lab.latest_report())
    entry = report["hosts"][HOST]
    assert result.returncode != 0 and entry["failed"] is True and entry["controls"] == []
    assert (entry["customer"], entry["site"], entry["audit_only"]) == ("st-example-hospital", "genomics-lab", False)
    assert tail(result)[0] == f"GATE FAILED: 1 host failed ({HOST})"
    assert lab.calls(HOST) == []


def test_report_mode_follows_file_mode_and_a_bad_mode_falls_back_to_private(lab):
    def run(mode):
        env = {**lab.env(), "MEDDEV_REPORT_FILE_MODE": mode}
        return subprocess.run(lab.playbook_command("drift.yml"), cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=600, check=False, preexec_fn=lambda: os.umask(0o022))

    def modes():
        folder = (lab.reports / "latest").resolve()
        return folder.stat().st_mode & 0o777, {p.name: p.stat().st_mode & 0o777 for p in folder.iterdir()}

    run("0600")
    assert modes() == (0o700, {"report.json": 0o600, "junit.xml": 0o600, "report.html": 0o600})
    bad = run("0755")  # Ansible would run on without a callback that refuses to load: no report at all
    warning = "file_mode: '0755' is not allowed"
    assert warning in bad.stdout + bad.stderr and any(warning in line for line in bad.stdout.splitlines()[-4:])
    assert modes() == (0o700, {"report.json": 0o600, "junit.xml": 0o600, "report.html": 0o600})


def test_the_first_drift_check_prints_each_drift_once(lab):
    result = lab.playbook("drift.yml")
    report = lab.latest_report()
    ids = [c["id"] for c in report["hosts"][HOST]["controls"] if c["status"] == "drift"]
    assert ids and result.returncode != 0
    output = result.stdout + result.stderr
    for cid in ids:  # the summary lists the first 12, each once; neither [ERROR] nor fatal: repeats them
        assert len(re.findall(rf"(?<![\w:.-]){re.escape(cid)}(?![\w.-])", output)) <= 1, cid
