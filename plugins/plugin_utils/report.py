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
MAX_PROBLEM_LINES = 12  # the summary fits a screen; the report has everything


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
            for key, value in (item.get("meddev_host") or {}).items():
                entry.setdefault(key, value)
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


def previous_report(report_dir, inventory: list) -> tuple:
    """The newest earlier report of the same inventory: (folder name, report) or (None, None)."""
    root = pathlib.Path(report_dir)
    if not root.is_dir():
        return None, None
    for folder in sorted((p for p in root.iterdir() if p.is_dir() and not p.is_symlink()), reverse=True):
        try:
            data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if data.get("inventory") == inventory:
            return folder.name, data
    return None, None


def since_last_run(report: dict, previous: dict | None, previous_name: str | None) -> dict:
    """What newly drifted, what was fixed, what is new, against the previous run of the same inventory."""
    out = {"previous": previous_name, "newly_drifted": [], "fixed": [], "new": []}
    if previous is None:
        return out
    bad = ("drift", "failed")
    for host, entry in report["hosts"].items():
        before = {c["id"]: c["status"] for c in (previous.get("hosts", {}).get(host) or {}).get("controls", [])}
        for control in entry["controls"]:
            was, now = before.get(control["id"]), control["status"]
            item = {"host": host, "id": control["id"], "title": control["title"], "was": was, "now": now}
            if was is None:
                out["new"].append(item)
            elif now in bad and was not in bad:
                out["newly_drifted"].append(item)
            elif was in bad and now not in bad:
                out["fixed"].append(item)
    return out


def prune(report_dir, keep: int) -> list:
    """Keep the newest ``keep`` runs (0 keeps all); return the folders removed, to be said aloud."""
    root = pathlib.Path(report_dir)
    if keep <= 0 or not root.is_dir():
        return []
    runs = sorted((p for p in root.iterdir() if p.is_dir() and not p.is_symlink()), reverse=True)
    removed = []
    for folder in runs[keep:]:
        for item in sorted(folder.iterdir()):
            item.unlink()
        folder.rmdir()
        removed.append(folder.name)
    return removed


def write(report: dict, report_dir, extra_files: dict | None = None) -> pathlib.Path:
    """Write ``<report_dir>/<UTC timestamp>/report.json`` (and extra files), point ``latest`` at it."""
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
    for name, content in (extra_files or {}).items():
        atomic_write_bytes(folder / name, content.encode("utf-8"))
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
        flag = "  UNREACHABLE" if host.get("unreachable") else ("  audit-only" if host.get("audit_only") else "")
        lines.append(f"{name:<28}{host['round_trips']:>6}  "
                     + "  ".join(f"{counts[s]:>8}" for s in STATUSES) + flag)
    lines.append(f"{'total':<28}{'':>6}  " + "  ".join(f"{report['summary'][s]:>8}" for s in STATUSES))
    since = report.get("since_last_run") or {}
    if since.get("previous"):
        lines.append(f"since {since['previous']}: {len(since['newly_drifted'])} newly drifted, "
                     f"{len(since['fixed'])} fixed, {len(since['new'])} new")
        for item in since["newly_drifted"][:MAX_PROBLEM_LINES]:
            lines.append(f"  NEWLY DRIFTED {item['host']}  {item['id']} (was {item['was']})")
    problems = [(name, c) for name, host in report["hosts"].items() for c in host["controls"]
                if c["status"] in PROBLEMS and not (c["status"] == "drift" and host.get("audit_only"))]
    for name, control in problems[:MAX_PROBLEM_LINES]:
        lines.append(f"  {control['status'].upper():<7} {name}  {control['id']}: "
                     f"expected {control['expected']}, found {control['actual']}")
    if len(problems) > MAX_PROBLEM_LINES:
        lines.append(f"  ... and {len(problems) - MAX_PROBLEM_LINES} more: see report.html")
    for name, host in report["hosts"].items():
        if host.get("cert_validation") is False:
            lines.append(f"  WARNING {name}  WinRM certificate validation is off: the host's identity is not checked")
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
