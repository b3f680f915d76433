# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Collect the ``controls`` of a run, judge it (the gate), write ``report.json`` (docs/report.md,
docs/report.schema.json) and print the one-screen summary that ends with the verdict."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import pathlib
import tempfile

from ansible_collections.meddev.hardening.plugins.module_utils.controls import STATUSES, summarize

SCHEMA_VERSION = "1"  # docs/report.schema.json; bumped only when a key changes meaning or goes away
PROBLEMS = ("drift", "failed")
MAX_PROBLEM_LINES = 12  # the summary fits a screen; the report has everything
MAX_NAMES = 3  # host names quoted in one line before "+N more"
FILE_MODE = 0o644  # readable by the people and CI jobs that read reports; the folder gets 0755


class RunRecorder:
    """What one playbook run found, per host."""

    def __init__(self):
        self.hosts = {}
        self.gate_failed = set()  # hosts where the playbook's drift gate (an assert) failed

    def _host(self, name: str) -> dict:
        return self.hosts.setdefault(name, {"round_trips": 0, "controls": [], "findings": [], "errors": [],
                                            "unreachable": False, "failed": False})

    def _error(self, host: str, task: str, item: dict) -> None:
        entry = self._host(host)
        entry["errors"].append(f"{task}: {item.get('msg', 'failed')}")
        entry["failed"] = True

    def add_result(self, host: str, result: dict, task: str = "") -> None:
        """Record a task result; looped results are walked item by item."""
        for item in result.get("results") or [result]:
            if not isinstance(item, dict):
                continue
            if "controls" not in item and "host_calls" not in item:
                if item.get("failed") and task:
                    self._error(host, task, item)
                continue
            entry = self._host(host)
            for key, value in (item.get("meddev_host") or {}).items():
                entry.setdefault(key, value)
            entry["round_trips"] += int(item.get("host_calls") or 0)
            entry["controls"].extend(item.get("controls") or [])
            entry["findings"].extend(item.get("findings") or [])
            if item.get("failed") and not item.get("controls"):
                self._error(host, task, item)

    def add_gate_failure(self, host: str) -> None:
        self._host(host)
        self.gate_failed.add(host)

    def add_unreachable(self, host: str, message: str) -> None:
        entry = self._host(host)
        entry["unreachable"] = True
        entry["errors"].append(f"unreachable: {message}")

    def build(self, mode: str, generated: str | None = None, **metadata) -> dict:
        generated = generated or utc_stamp()
        controls = [c for h in self.hosts.values() for c in h["controls"]]
        data = {"schema_version": SCHEMA_VERSION, "generated": generated, "mode": mode, **metadata,
                "hosts": {name: self.hosts[name] for name in sorted(self.hosts)},
                "summary": summarize(controls)}
        for host in data["hosts"].values():
            # Who and where, also for a host that never answered (the callback fills them from inventory).
            for key, default in (("customer", ""), ("site", ""), ("audit_only", False)):
                host.setdefault(key, default)
        data["gate"] = gate(data, self.gate_failed)
        return data


def utc_stamp() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _count(host: dict, status: str) -> int:
    return sum(1 for c in host["controls"] if c["status"] == status)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _names(names: list) -> str:
    shown = ", ".join(names[:MAX_NAMES])
    return shown + (f" +{len(names) - MAX_NAMES} more" if len(names) > MAX_NAMES else "")


def gate(report: dict, gate_failed=()) -> dict:
    """The run's verdict: ``passed``, the ``reason`` the verdict line gives, and the counts behind it.

    It fails on what drift.yml's gate fails on (drift or failed controls of enforced hosts, failed
    controls anywhere, drift of audit-only hosts whose gate failed: drift_fail_on_audit_only), and on
    what leaves a host unchecked (unreachable, a failed task) and, in an investigation, on findings.
    """
    hosts = report["hosts"]
    enforced = [n for n, h in hosts.items() if not h.get("audit_only")]
    audit_only = [n for n, h in hosts.items() if h.get("audit_only")]
    enforced_drift = {n: _count(hosts[n], "drift") for n in enforced if _count(hosts[n], "drift")}
    audit_drift = {n: _count(hosts[n], "drift") for n in audit_only if _count(hosts[n], "drift")}
    failed_controls = {n: _count(h, "failed") for n, h in hosts.items() if _count(h, "failed")}
    unreachable = [n for n, h in hosts.items() if h.get("unreachable")]
    failed_hosts = [n for n, h in hosts.items() if h.get("failed") and not h.get("unreachable")]
    findings = {n: len(h.get("findings") or []) for n, h in hosts.items() if h.get("findings")}
    gated_audit = {n: k for n, k in audit_drift.items() if n in gate_failed}
    counts = {"enforced_drift": sum(enforced_drift.values()), "audit_only_drift": sum(audit_drift.values()),
              "failed_controls": sum(failed_controls.values()), "unreachable_hosts": len(unreachable),
              "failed_hosts": len(failed_hosts), "findings": sum(findings.values())}
    reasons = []
    if unreachable:
        reasons.append(f"{_plural(len(unreachable), 'host')} unreachable ({_names(unreachable)})")
    if failed_hosts:
        reasons.append(f"{_plural(len(failed_hosts), 'host')} failed ({_names(failed_hosts)})")
    if failed_controls:
        reasons.append(_plural(counts["failed_controls"], "failed control"))
    if enforced_drift:
        reasons.append(f"{counts['enforced_drift']} in drift on {_plural(len(enforced_drift), 'enforced host')}")
    if gated_audit:
        reasons.append(f"{sum(gated_audit.values())} in drift on {_plural(len(gated_audit), 'audit-only host')} "
                       "(drift_fail_on_audit_only)")
    unexplained = sorted(set(gate_failed) - set(enforced_drift) - set(failed_controls) - set(gated_audit))
    if unexplained:
        reasons.append(f"the drift gate failed on {_plural(len(unexplained), 'host')} ({_names(unexplained)})")
    if findings and report.get("mode") == "investigate":
        reasons.append(f"{_plural(counts['findings'], 'finding')} on {_plural(len(findings), 'host')} "
                       f"need a look ({_names(sorted(findings))})")
    not_gated = {n: k for n, k in audit_drift.items() if n not in gated_audit}
    aside = (f"; audit-only: {sum(not_gated.values())} in drift on {_plural(len(not_gated), 'host')}, "
             "not gated") if not_gated else ""
    if reasons:
        return {"passed": False, "reason": "; ".join(reasons) + aside, **counts}
    if report.get("mode") == "investigate":
        why = f"no finding on {_plural(len(hosts), 'host')}"
    elif report.get("mode") == "apply":
        why = (f"{report['summary']['fixed']} fixed, none failed, no drift left on "
               f"{_plural(len(enforced), 'enforced host')}")
    else:
        why = f"no control in drift or failed on {_plural(len(enforced), 'enforced host')}"
    return {"passed": True, "reason": why + aside, **counts}


def verdict_line(report: dict) -> str:
    return f"GATE {'PASSED' if report['gate']['passed'] else 'FAILED'}: {report['gate']['reason']}"


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
    """What changed against the previous run of the same inventory.

    One definition of "fixed" for the whole report: status ``fixed`` (this run changed it), so the
    ``fixed`` list is as long as the table's fixed column. A control that was in drift or failed and
    is now neither without a change of its own (fixed by hand, or by another control's change in this
    run) is ``resolved``.
    """
    out = {"previous": previous_name, "newly_drifted": [], "fixed": [], "resolved": [], "new": []}
    if previous is None:
        return out
    for host, entry in report["hosts"].items():
        before = {c["id"]: c["status"] for c in (previous.get("hosts", {}).get(host) or {}).get("controls", [])}
        for control in entry["controls"]:
            was, now = before.get(control["id"]), control["status"]
            item = {"host": host, "id": control["id"], "title": control["title"], "was": was, "now": now}
            if was is None:
                out["new"].append(item)
            if now == "fixed":
                out["fixed"].append(item)
            elif was is None:
                continue
            elif now in PROBLEMS and was not in PROBLEMS:
                out["newly_drifted"].append(item)
            elif was in PROBLEMS and now not in PROBLEMS:
                out["resolved"].append(item)
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


def parse_file_mode(value) -> int:
    """The report files' mode from an octal string ("0644", "0600", "0640"): owner read+write, nothing executable."""
    try:
        mode = int(str(value), 8)
    except ValueError:
        mode = -1
    if mode < 0 or mode & ~0o666 or mode & 0o600 != 0o600:
        raise ValueError(f"file_mode: {value!r} is not allowed; allowed: an octal mode with owner read and "
                         "write and no execute bit, like 0644 (default) or 0600")
    return mode


def folder_mode(file_mode: int) -> int:
    """The run folder's mode: whoever may read the files may list the folder (0644 -> 0755, 0600 -> 0700)."""
    return file_mode | 0o100 | ((file_mode & 0o040) >> 2) | ((file_mode & 0o004) >> 2)


def _write_file(path: pathlib.Path, data: bytes, mode: int) -> None:
    """Atomic (a reader sees the old or the new bytes) and with ``mode`` whatever the umask."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write(report: dict, report_dir, extra_files: dict | None = None, file_mode: int = FILE_MODE) -> pathlib.Path:
    """Write ``<report_dir>/<UTC timestamp>/report.json`` (and extra files), point ``latest`` at it."""
    root = pathlib.Path(report_dir)
    root.mkdir(mode=folder_mode(file_mode), parents=True, exist_ok=True)
    stamp = report["generated"].replace(":", "").replace("-", "")
    folder, n = root / stamp, 1
    while folder.exists():
        n += 1
        folder = root / f"{stamp}-{n}"
    folder.mkdir()
    folder.chmod(folder_mode(file_mode))  # mkdir's mode is cut by the umask
    data = (json.dumps(report, indent=2, sort_keys=False) + "\n").encode("utf-8")
    _write_file(folder / "report.json", data, file_mode)
    for name, content in (extra_files or {}).items():
        _write_file(folder / name, content.encode("utf-8"), file_mode)
    link = root / "latest"
    tmp_link = root / f".latest-{os.getpid()}"
    if tmp_link.is_symlink():
        tmp_link.unlink()
    tmp_link.symlink_to(folder.name)
    os.replace(tmp_link, link)  # atomic: readers see the old or the new report
    return folder


def shown_path(path) -> str:
    """``path`` relative to the working directory when under it (what a user types next), else absolute."""
    path = pathlib.Path(path)
    with contextlib.suppress(ValueError):
        return str(path.relative_to(pathlib.Path.cwd()))
    return str(path)


def _table(report: dict) -> list:
    """Hosts x statuses, full column names, widths from the content (long host names stay aligned)."""
    header = ["host", "round trips", *STATUSES]
    rows = []
    for name, host in report["hosts"].items():
        counts = summarize(host["controls"])
        cells = [name, str(host["round_trips"])] + [
            f"{counts[s]}*" if s == "drift" and counts[s] and host.get("audit_only") else str(counts[s])
            for s in STATUSES]
        flags = [f for f, on in (("audit-only", host.get("audit_only")), ("UNREACHABLE", host.get("unreachable")),
                                 ("FAILED", host.get("failed") and not host.get("unreachable"))) if on]
        rows.append((cells, ", ".join(flags)))
    rows.append((["total", str(sum(h["round_trips"] for h in report["hosts"].values()))]
                 + [str(report["summary"][s]) for s in STATUSES], ""))
    widths = [max(len(r[0][i]) for r in [(header, ""), *rows]) for i in range(len(header))]

    def line(cells, flag):
        text = cells[0].ljust(widths[0])
        text += "".join("  " + c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        return (text + "  " + flag) if flag else text

    return [line(header, "")] + [line(cells, flag) for cells, flag in rows]


def _since_lines(since: dict) -> list:
    if not since.get("previous"):
        return []
    lines = [f"since {since['previous']}: {len(since['newly_drifted'])} newly drifted, {len(since['fixed'])} fixed, "
             f"{len(since.get('resolved') or [])} resolved without a change of their own, {len(since['new'])} new"]
    for label, key in (("NEWLY DRIFTED", "newly_drifted"), ("RESOLVED", "resolved")):
        items = since.get(key) or []
        lines += [f"  {label} {i['host']}  {i['id']} (was {i['was']}, now {i['now']})"
                  for i in items[:MAX_PROBLEM_LINES]]
        if len(items) > MAX_PROBLEM_LINES:
            lines.append(f"  ... and {len(items) - MAX_PROBLEM_LINES} more {key.replace('_', ' ')}: see report.json")
    return lines


def _problem_lines(report: dict) -> list:
    hosts = report["hosts"]
    problems = [(name, c) for name, host in hosts.items() for c in host["controls"]
                if c["status"] in PROBLEMS and not (c["status"] == "drift" and host.get("audit_only"))]
    lines = [f"  {control['status'].upper():<7} {name}  {control['id']}: "
             f"expected {control['expected']}, found {control['actual']}"
             for name, control in problems[:MAX_PROBLEM_LINES]]
    if len(problems) > MAX_PROBLEM_LINES:
        lines.append(f"  ... and {len(problems) - MAX_PROBLEM_LINES} more: see report.html")
    audit = sorted(((n, _count(h, "drift")) for n, h in hosts.items() if h.get("audit_only") and _count(h, "drift")),
                   key=lambda item: (-item[1], item[0]))
    if audit:
        lines.append(f"  AUDIT-ONLY {sum(k for _name, k in audit)} drift* on {_plural(len(audit), 'host')} "
                     f"({_names([f'{n} {k}' for n, k in audit])}): the vendor's to fix; see report.html")
    for name, host in hosts.items():
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


def summary_lines(report: dict, path=None, notes=()) -> list:
    """The one-screen summary: a table of hosts x statuses, what changed since the last run, every
    problem (capped), ``notes`` (retention), and last the verdict line and where report.html is."""
    where = shown_path(path) if path else None
    lines = [f"meddev.hardening {report['mode']} report" + (f": {where}/report.json" if where else "")]
    lines += _table(report)
    legend = "round trips: calls to the host (a WinRM round trip each)"
    if any(h.get("audit_only") and _count(h, "drift") for h in report["hosts"].values()):
        legend += "; drift*: on an audit-only host, reported, never changed"
    lines.append(legend)
    lines += _since_lines(report.get("since_last_run") or {})
    lines += _problem_lines(report)
    lines += list(notes)
    lines.append(verdict_line(report))
    if where:
        lines.append(f"HTML report: {where}/report.html")
    return lines


def problem_controls(results) -> list:
    """Controls in drift or failed, from registered role results (for the drift gate)."""
    problems = []
    for result in results if isinstance(results, list) else [results]:
        if isinstance(result, dict):
            for item in result.get("results") or [result]:
                problems.extend(c for c in (item.get("controls") or []) if c.get("status") in PROBLEMS)
    return problems
