"""JUnit, HTML, drift since the last run and retention, from recorded results."""

import re
import xml.etree.ElementTree as ET

from ansible_collections.meddev.hardening.plugins.plugin_utils import report, report_formats


def control(cid, status, source=("SRC-LRM-9",)):
    return {"id": cid, "title": f"title {cid}", "source": list(source), "status": status,
            "expected": "on", "actual": "off", "message": "why <b>"}


def sample(**statuses):
    rec = report.RunRecorder()
    rec.add_result("lrm-01", {"host_calls": 2, "controls": [control(k, v) for k, v in statuses.items()],
                              "meddev_host": {"customer": "st-a", "site": "lab", "audit_only": False}})
    rec.add_result("mr-01", {"host_calls": 1, "controls": [control("BL-X", "drift", ("SRC-PMR-7",))],
                             "meddev_host": {"customer": "st-a", "site": "mri", "audit_only": True}})
    rec.add_unreachable("gone-01", "timed out")
    return rec.build("check", generated="2026-11-23T10:00:00Z", inventory=["inv"])


def test_junit_failures_skips_and_errors():
    data = sample(**{"FW-A": "drift", "FW-B": "failed", "FW-C": "manual", "FW-D": "compliant", "FW-E": "deferred"})
    root = ET.fromstring(report_formats.junit(data))  # noqa: S314 - XML this code just wrote
    suites = {s.get("name"): s for s in root}
    lrm = suites["lrm-01"]
    assert (lrm.get("tests"), lrm.get("failures"), lrm.get("skipped")) == ("5", "2", "2")
    assert suites["gone-01"].get("errors") == "1"
    assert suites["mr-01"].get("failures") == "0" and suites["mr-01"].get("skipped") == "1"  # audit-only drift


def test_html_is_self_contained_escaped_and_carries_the_vendor_text():
    page = report_formats.render_html(sample(**{"FW-A": "drift"}))
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # no external asset
    assert "why &lt;b&gt;" in page and "why <b>" not in page
    assert "Windows Firewall rules blocking inbound" in page  # SRC-LRM-9 text from the vendor notes
    assert "st-a · lab" in page and "st-a · mri" in page


def test_since_last_run_names_newly_drifted_fixed_and_new():
    before = sample(**{"FW-A": "compliant", "FW-B": "drift"})
    after = sample(**{"FW-A": "drift", "FW-B": "fixed", "FW-C": "compliant"})
    since = report.since_last_run(after, before, "20261122T000000Z")
    assert [(i["host"], i["id"]) for i in since["newly_drifted"]] == [("lrm-01", "FW-A")]
    assert [i["id"] for i in since["fixed"]] == ["FW-B"]
    assert [i["id"] for i in since["new"]] == ["FW-C"]


def test_previous_report_is_of_the_same_inventory_and_retention_says_what_it_removed(tmp_path):
    first = sample(**{"FW-A": "compliant"})
    report.write(first, tmp_path)
    other = dict(first, inventory=["other"], generated="2026-11-23T10:00:01Z")
    report.write(other, tmp_path)
    name, previous = report.previous_report(tmp_path, ["inv"])
    assert previous["inventory"] == ["inv"] and name.startswith("20261123T100000Z")
    removed = report.prune(tmp_path, keep=1)
    assert removed == [name] and report.prune(tmp_path, keep=0) == []


def test_certificate_validation_off_is_warned_in_summary_and_html():
    rec = report.RunRecorder()
    rec.add_result("lax-01", {"host_calls": 1, "controls": [control("FW-A", "compliant")],
                              "meddev_host": {"cert_validation": False}})
    data = rec.build("check", generated="2026-11-23T10:00:00Z")
    assert any("lax-01  WinRM certificate validation is off" in line for line in report.summary_lines(data))
    assert "certificate validation is off for this host" in report_formats.render_html(data)
