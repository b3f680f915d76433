# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report.json as JUnit XML for CI: one testsuite per host, one testcase per control."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # builds XML; never parses input

FAILURES, SKIPS = ("drift", "failed"), ("manual", "deferred")
# Characters XML 1.0 cannot carry even escaped (ElementTree writes them as they are): NUL, most controls.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def junit(report: dict) -> str:
    """One testsuite per host, one testcase per control; drift/failed fail, manual/deferred skip."""
    suites = ET.Element("testsuites", name=f"meddev.hardening {report['mode']}")
    for name, host in report["hosts"].items():
        suite = ET.SubElement(suites, "testsuite", name=name, tests="0", failures="0", errors="0", skipped="0")
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        if host.get("unreachable") or (host.get("errors") and not host["controls"]):
            case = ET.SubElement(suite, "testcase", classname=name, name="connection")
            ET.SubElement(case, "error", message="; ".join(host.get("errors") or ["unreachable"]))
            counts["tests"] += 1
            counts["errors"] += 1
        for control in host["controls"]:
            case = ET.SubElement(suite, "testcase", classname=f"{name}.{control['id'].split('-')[0]}",
                                 name=f"{control['id']}: {control['title']}")
            counts["tests"] += 1
            text = (f"expected {control['expected']}, found {control['actual']}. {control['message']} "
                    f"[{', '.join(control['source'])}]").strip()
            if control["status"] in FAILURES and not (control["status"] == "drift" and host.get("audit_only")):
                ET.SubElement(case, "failure", message=control["status"], type=control["status"]).text = text
                counts["failures"] += 1
            elif control["status"] in SKIPS or control["status"] == "drift":
                ET.SubElement(case, "skipped", message=f"{control['status']}: {text}")
                counts["skipped"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
    ET.indent(suites)
    text = ET.tostring(suites, encoding="unicode")
    # A control character in an error or a name (a refused value is quoted) would make the file unreadable.
    text = NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n"
