# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of meddev.hardening.host_evidence (read only)."""

from __future__ import annotations

import dataclasses
import re

from ansible_collections.meddev.hardening.plugins.module_utils import evidence
from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError, Plan
from ansible_collections.meddev.hardening.plugins.plugin_utils.host_action import HostAction

SINCE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z")


@dataclasses.dataclass(frozen=True)
class Desired:
    since: str
    max_events: int


class ActionModule(HostAction):
    HOST_MODULE = "meddev.hardening.host_evidence"
    DIFF_HEADER = "Windows evidence"
    _VALID_ARGS = frozenset(("since", "max_events", "variable_prefix"))

    def validate(self, args, prefix):
        since = str(args.get("since") or "")
        if since and not SINCE.match(since):
            raise ArgumentError(f"{prefix}since", f"{since!r} is not a UTC time like 2026-11-01T00:00:00Z")
        try:
            limit = int(args.get("max_events", 200))
        except (TypeError, ValueError):
            limit = -1
        if not 1 <= limit <= 5000:
            raise ArgumentError(f"{prefix}max_events", "allowed: an integer 1-5000")
        return Desired(since, limit)

    def host_args(self, desired):
        return {"queries": evidence.queries(), "since": desired.since, "max_events": desired.max_events}

    def plan(self, desired, gathered):
        controls, findings = evidence.controls_and_findings(gathered)
        return Plan(controls, (), facts={"findings": findings})
