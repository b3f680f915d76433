# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Collect the ``controls`` of a run and write ``report.json`` (schema: docs/report.md)."""

from __future__ import annotations

import datetime
import json
import os
import pathlib

from ansible_collections.meddev.hardening.plugins.module_utils.controls import STATUSES, summarize
from ansible_collections.meddev.hardening.plugins.module_utils.winsim import atomic_write_bytes

PROBLEMS = ("drift", "failed")


class RunRecorder:
    """What one playbook run found, per host."""

    def __init__(self):
        self.hosts = {}

    def _host(self, name: str) -> dict:
        return self.hosts.setdefault(name, {"round_trips": 0, "controls": [], "findings": [], "errors": [],
                                            "unreachable": False})

    def add_result(self, host: str, result: dict, task: str = "") -> None:
        """Record a task result; looped results are walked item by item."""
        for item in result.get("results") or [result]:
            if not isinstance(item, dict):
                continue
            if "controls" not in item and "host_calls" not in item:
                if item.get("failed") and task:
                    self._host(host)["errors"].append(f"{task}: {item.get('msg', 'failed')}")
                continue
            entry = self._host(host)
            entry["round_trips"] += int(item.get("host_calls") or 0)
            entry["controls"].extend(item.get("controls") or [])
            entry["findings"].extend(item.get("findings") or [])
            if item.get("failed") and not item.get("controls"):
                entry["errors"].append(f"{task}: {item.get('msg', 'failed')}")

    def add_unreachable(self, host: str, message: str) -> None:
        entry = self._host(host)
        entry["unreachable"] = True
        entry["errors"].append(f"unreachable: {message}")

    def build(self, mode: str, generated: str | None = None, **metadata) -> dict:
        generated = generated or utc_stamp()
        controls = [c for h in self.hosts.values() for c in h["controls"]]
        return {"generated": generated, "mode": mode, **metadata,
                "hosts": {name: self.hosts[name] for name in sorted(self.hosts)},
                "summary": summarize(controls)}


def utc_stamp() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write(report: dict, report_dir) -> pathlib.Path:
    """Write ``<report_dir>/<UTC timestamp>/report.json`` and point ``latest`` at that folder."""
    root = pathlib.Path(report_dir)
    root.mkdir(parents=True, exist_ok=True)
    stamp = report["generated"].replace(":", "").replace("-", "")
    folder, n = root / stamp, 1
    while folder.exists():
        n += 1
        folder = root / f"{stamp}-{n}"
    folder.mkdir()
    data = (json.dumps(report, indent=2, sort_keys=False) + "\n").encode("utf-8")
    atomic_write_bytes(folder / "report.json", data)
    link = root / "latest"
    tmp_link = root / f".latest-{os.getpid()}"
    if tmp_link.is_symlink():
        tmp_link.unlink()
    tmp_link.symlink_to(folder.name)
    os.replace(tmp_link, link)  # atomic: readers see the old or the new report
    return folder


def summary_lines(report: dict, path=None) -> list:
    """A one-screen summary: a line per host with its status counts, then every problem."""
    lines = [f"meddev.hardening {report['mode']} report"
             + (f": {path}/report.json" if path else ""),
             f"{'host':<28}{'trips':>6}  " + "  ".join(f"{s:>8.8}" for s in STATUSES)]
    for name, host in report["hosts"].items():
        counts = summarize(host["controls"])
        flag = "  UNREACHABLE" if host.get("unreachable") else ""
        lines.append(f"{name:<28}{host['round_trips']:>6}  "
                     + "  ".join(f"{counts[s]:>8}" for s in STATUSES) + flag)
    lines.append(f"{'total':<28}{'':>6}  " + "  ".join(f"{report['summary'][s]:>8}" for s in STATUSES))
    for name, host in report["hosts"].items():
        for control in host["controls"]:
            if control["status"] in PROBLEMS:
                lines.append(f"  {control['status'].upper():<7} {name}  {control['id']}: "
                             f"expected {control['expected']}, found {control['actual']}")
        if host.get("findings"):
            kinds = {}
            for finding in host["findings"]:
                kinds[finding.get("kind", "finding")] = kinds.get(finding.get("kind", "finding"), 0) + 1
            lines.append(f"  FINDINGS {name}  " + ", ".join(f"{v} {k}" for k, v in sorted(kinds.items())))
        for error in host["errors"]:
            lines.append(f"  ERROR   {name}  {error}")
    return lines


def problem_controls(results) -> list:
    """Controls in drift or failed, from registered role results (for the drift gate)."""
    problems = []
    for result in results if isinstance(results, list) else [results]:
        if isinstance(result, dict):
            for item in result.get("results") or [result]:
                problems.extend(c for c in (item.get("controls") or []) if c.get("status") in PROBLEMS)
    return problems
