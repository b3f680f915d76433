# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of meddev.hardening.iis_log_scan: validate, scan on the host, report findings."""

from __future__ import annotations

import dataclasses
import re

from ansible_collections.meddev.hardening.plugins.module_utils import iis_logs
from ansible_collections.meddev.hardening.plugins.module_utils.controls import (
    COMPLIANT,
    MANUAL,
    ArgumentError,
    Control,
    Plan,
    windows_path,
)
from ansible_collections.meddev.hardening.plugins.plugin_utils.host_action import HostAction

SINCE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z")
PATTERN = re.compile(r"^[A-Za-z0-9*?_.-]{1,64}\Z")


@dataclasses.dataclass(frozen=True)
class Desired:
    log_roots: tuple
    site_pattern: str
    indicators: tuple
    since: str
    max_findings: int


class ActionModule(HostAction):
    HOST_MODULE = "meddev.hardening.iis_log_scan"
    DIFF_HEADER = "IIS logs"
    _VALID_ARGS = frozenset(("log_roots", "site_pattern", "indicators", "since", "max_findings", "variable_prefix"))

    def validate(self, args, prefix):
        roots = tuple(str(r) for r in args.get("log_roots") or [r"C:\inetpub\logs\LogFiles"])
        for root in roots:
            windows_path(root, f"{prefix}log_roots", "folder")
        pattern = str(args.get("site_pattern") or "W3SVC*")
        if not PATTERN.match(pattern):
            raise ArgumentError(f"{prefix}site_pattern", f"{pattern!r}: allowed letters, digits, * ? _ . -")
        known = [item[0] for item in iis_logs.INDICATORS]
        chosen = tuple(args.get("indicators") or known)
        unknown = sorted(set(chosen) - set(known))
        if unknown:
            raise ArgumentError(f"{prefix}indicators", f"unknown {unknown}; allowed: {', '.join(known)}")
        since = str(args.get("since") or "")
        if since and not SINCE.match(since):
            raise ArgumentError(f"{prefix}since", f"{since!r} is not a UTC time like 2026-11-01T00:00:00Z")
        try:
            limit = int(args.get("max_findings", 500))
        except (TypeError, ValueError):
            limit = -1
        if not 1 <= limit <= 10000:
            raise ArgumentError(f"{prefix}max_findings", "allowed: an integer 1-10000")
        return Desired(roots, pattern, chosen, since, limit)

    def host_args(self, desired):
        return {"log_roots": list(desired.log_roots), "site_pattern": desired.site_pattern,
                "indicators": iis_logs.catalog(desired.indicators), "since": desired.since,
                "max_findings": desired.max_findings}

    def plan(self, desired, gathered):
        findings = [{"kind": "iis_log", **f, "source": iis_logs.SOURCES.get(f["indicator"], "SRC-LRM-12")}
                    for f in gathered.get("findings") or []]
        counts = gathered.get("counts") or {}
        total = int((gathered.get("stats") or {}).get("matched_lines", len(findings)))
        summary = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "none"
        control = Control("IR-IIS-LOGS", "IIS logs show no sign of exploitation", ("SRC-LRM-12", "SRC-LRM-13"),
                          "no suspicious requests", f"{total} suspicious request(s) ({summary})",
                          COMPLIANT if not total else MANUAL,
                          "" if not total else "review the findings; an attacker with admin rights can rewrite "
                          "local logs (SRC-LRM-13), so absence of findings is not proof")
        return Plan((control,), (), facts={"findings": findings, "counts": counts,
                                           "scan_stats": gathered.get("stats") or {},
                                           "findings_truncated": bool(gathered.get("truncated"))})
