# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report.json as JUnit XML for CI: one testsuite per host, one testcase per control."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # builds XML; never parses input

FAILURES, SKIPS = ("drift", "failed"), ("manual", "deferred")
COUNTS = ("tests", "failures", "errors", "skipped")
# Characters XML 1.0 cannot carry even escaped (ElementTree writes them as they are): NUL, most controls.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _case(suite, name: str, host: dict, control: dict, counts: dict) -> None:
    case = ET.SubElement(suite, "testcase", classname=f"{name}.{control['id'].split('-')[0]}",
                         name=f"{control['id']}: {control['title']}")
    counts["tests"] += 1
    # The message is what a CI page shows in its list: the title, what was expected, what was found.
    message = f"{control['title']}: expected {control['expected']}, found {control['actual']}"
    text = (f"{control['id']} {control['status']}: {message}. {control['message']} "
            f"[{', '.join(control['source'])}]").strip()
    if control["status"] in FAILURES and not (control["status"] == "drift" and host.get("audit_only")):
        ET.SubElement(case, "failure", message=message, type=control["status"]).text = text
        counts["failures"] += 1
    elif control["status"] in SKIPS or control["status"] == "drift":
        why = "audit-only host, drift reported, not changed" if control["status"] == "drift" else control["status"]
        ET.SubElement(case, "skipped", message=f"{why}: {message}").text = text
        counts["skipped"] += 1


def junit(report: dict) -> str:
    """One testsuite per host, one testcase per control; drift/failed fail (audit-only drift skips),
    manual/deferred skip; an unreachable or failed host is an error. Totals and the run's UTC time
    on <testsuites> and every <testsuite>."""
    stamp = report["generated"]
    suites = ET.Element("testsuites", name=f"meddev.hardening {report['mode']}", timestamp=stamp)
    totals = dict.fromkeys(COUNTS, 0)
    for name, host in report["hosts"].items():
        suite = ET.SubElement(suites, "testsuite", name=name, hostname=name, timestamp=stamp)
        counts = dict.fromkeys(COUNTS, 0)
        if host.get("unreachable") or (host.get("errors") and not host["controls"]):
            case = ET.SubElement(suite, "testcase", classname=name, name="connection")
            ET.SubElement(case, "error", message="; ".join(host.get("errors") or ["unreachable"]))
            counts["tests"] += 1
            counts["errors"] += 1
        for control in host["controls"]:
            _case(suite, name, host, control, counts)
        for key in COUNTS:
            suite.set(key, str(counts[key]))
            totals[key] += counts[key]
    for key in COUNTS:
        suites.set(key, str(totals[key]))
    ET.indent(suites)
    text = ET.tostring(suites, encoding="unicode")
    # A control character in an error or a name (a refused value is quoted) would make the file unreadable.
    text = NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n"
