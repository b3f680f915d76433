# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of meddev.hardening.baseline; the logic is in module_utils.baseline."""

from __future__ import annotations

from ansible_collections.meddev.hardening.plugins.module_utils import baseline
from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError
from ansible_collections.meddev.hardening.plugins.plugin_utils.host_action import HostAction


def _check_only_ids(desired) -> set:
    return {e.id for e in desired.entries if e.report_only}


class ActionModule(HostAction):
    HOST_MODULE = "meddev.hardening.baseline"
    DIFF_HEADER = "Windows baseline"
    _VALID_ARGS = frozenset(("catalog", "catalog_vars", "products", "protected_services", "skip", "variable_prefix",
                             "profile", "values", "product_conflicts", "management"))

    def prepare(self, args, variables, prefix):
        """catalog_vars: names of variables whose entries join ``catalog``, read here rather than passed as task
        arguments. Ansible copies a task's arguments between its processes with every host's result; for
        Microsoft's baseline (hundreds of entries) that copy was the largest controller cost (docs/performance.md)."""
        names = args.pop("catalog_vars", None) or []
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ArgumentError(f"{prefix}catalog_vars", "must be a list of variable names")
        catalog = list(args.get("catalog") or [])
        for name in names:
            if name not in variables:
                raise ArgumentError(f"{prefix}catalog_vars", f"{name!r} is not defined")
            entries = self._templar.template(variables[name])
            if not isinstance(entries, list):
                raise ArgumentError(name, "must be a list of control dictionaries")
            catalog += entries
        return {**args, "catalog": catalog}

    def validate(self, args, prefix):
        return baseline.validate(args, prefix)

    def host_args(self, desired):
        """What the gather reads: never a skipped control's settings (baseline_skip)."""
        registry = [{"path": e.spec["path"], "name": e.spec["name"]} for e in desired.entries
                    if e.mechanism in ("registry", "secopt") and not e.skip]
        services = sorted({s for e in desired.entries if e.mechanism == "service" and e.enabled and not e.skip
                           for s in e.value})
        return {"registry_values": registry, "services": services}

    def plan(self, desired, gathered):
        return baseline.plan(desired, gathered)

    def _outcome(self, desired, plan, applied):
        """A check-only control in drift (MS17-010 on an unpatched build) carries no change: the apply of the
        other controls neither fixed nor failed it, so it stays drift with its own message."""
        check_only = _check_only_ids(desired)
        planned = {c.id: c for c in plan.controls}
        return [planned[c.id] if c.id in check_only else c for c in super()._outcome(desired, plan, applied)]

    def finish(self, result, desired, plan, changed):
        """Check mode and audit-only hosts say "apply would fix this" of drift; not of a check-only control."""
        planned = {c.id: c for c in plan.controls if c.id in _check_only_ids(desired)}
        for control in result.get("controls") or []:
            if control.get("id") in planned:
                control["message"] = planned[control["id"]].message
