# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base class of the collection's action plugins: gather -> plan -> apply over one host module.

A subclass names its host module and supplies three pure steps (validate, plan, and the host
arguments). This class does the I/O: one gather call, at most one apply call, never an apply
in check mode or on an audit-only host, and a result with ``controls`` and ``host_calls``.
What the host returns is checked against the module's result schema (host_schema.py) before it
is planned on or judged: a host that answers outside the contract fails the task, naming the key.
"""

from __future__ import annotations

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.meddev.hardening.plugins.module_utils.controls import (
    DRIFT,
    FAILED,
    FIXED,
    ArgumentError,
    mark_unchanged,
    summarize,
)
from ansible_collections.meddev.hardening.plugins.plugin_utils import host_schema


class HostAction(ActionBase):
    """gather -> plan -> apply. Subclasses set HOST_MODULE and DIFF_HEADER and the hooks below."""

    HOST_MODULE = ""
    DIFF_HEADER = ""
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    # -- hooks (pure) ----------------------------------------------------------------------------

    def prepare(self, args: dict, variables: dict, prefix: str) -> dict:
        """The arguments before validate(): a plugin may add what it reads from the host's variables
        (the preflight calls it too, with the role's variables)."""
        return args

    def validate(self, args: dict, prefix: str):
        raise NotImplementedError

    def host_args(self, desired) -> dict:
        """Options for the host module common to gather and apply."""
        return {}

    def plan(self, desired, gathered: dict):
        raise NotImplementedError

    def finish(self, result: dict, desired, plan, changed: bool) -> None:
        """Add module-specific keys or warnings to the result (optional)."""

    # -- I/O -----------------------------------------------------------------------------------------

    def _host(self, phase: str, args: dict, task_vars: dict) -> dict:
        return self._execute_module(module_name=self.HOST_MODULE, module_args={"phase": phase, **args},
                                    task_vars=task_vars)

    def _contract_error(self, task_vars: dict, phase: str, answer: dict) -> str:
        """'' when the host's answer matches the module's result schema, else the message to fail with."""
        module = self.HOST_MODULE.rsplit(".", 1)[-1]
        if phase == "apply":
            what, problems = "an apply result", host_schema.check_apply_result(module, answer)
        else:
            what = "a state"
            problems = (host_schema.check_state(module, answer["state"]) if "state" in answer
                        else ["state: missing from the result"])
        if not problems:
            return ""
        host = str(task_vars.get("inventory_hostname") or "the host")
        return host_schema.contract_error(module, host, what, problems)

    def _enforce(self, task_vars: dict) -> bool:
        value = self._templar.template(task_vars.get("meddev_enforce", True))
        try:
            return boolean(value, strict=True)
        except TypeError:
            raise ArgumentError("meddev_enforce", f"{value!r} is not allowed; allowed: true, false") from None

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        prefix = str(args.pop("variable_prefix", "") or "")
        try:
            args = self.prepare(args, task_vars, prefix)
            desired = self.validate(args, prefix)
            enforce = self._enforce(task_vars)
        except ArgumentError as error:
            return {**result, "failed": True, "msg": str(error), "controls": [], "host_calls": 0}

        gathered = self._host("gather", self.host_args(desired), task_vars)
        if gathered.get("failed"):
            return {**result, "failed": True, "controls": [], "host_calls": 1,
                    "msg": f"gather failed, nothing was changed: {gathered.get('msg')}"}
        # Before any plan: a bare string where a list belongs must not be read character by character.
        contract = self._contract_error(task_vars, "gather", gathered)
        if contract:
            return {**result, "failed": True, "controls": [], "host_calls": 1, "msg": contract}
        try:
            plan = self.plan(desired, gathered["state"])
        except ArgumentError as error:
            return {**result, "failed": True, "msg": f"{error} (nothing was changed)", "controls": [],
                    "host_calls": 1}

        calls, changed, contract = 1, False, ""
        controls = list(plan.controls)
        result["changes_planned"], result["changes_applied"] = len(plan.changes), 0
        if plan.changes and enforce and not self._task.check_mode:
            applied = self._host("apply", {**self.host_args(desired),
                                           "changes": [c.as_host_dict() for c in plan.changes]}, task_vars)
            calls += 1
            contract = self._contract_error(task_vars, "apply", applied)
            if contract:  # nothing in it can be trusted: the count only if it is one
                count = applied.get("applied")
                valid = host_schema.type_name(count) == "integer" and count >= 0
                applied = {"failed": True, "msg": contract, "applied": int(count) if valid else 0}
            result["changes_applied"] = int(applied.get("applied") or 0)
            changed = result["changes_applied"] > 0
            if "reboot_required" in applied:
                result["reboot_required"] = bool(applied["reboot_required"])
            controls = self._outcome(desired, plan, applied) if not contract else [
                c.with_status(FAILED, f"not verified: {contract}") if c.status == DRIFT else c for c in plan.controls]
            if applied.get("failed"):
                # Shown even when every control ended in place (another run may have done them).
                result["apply_error"] = str(applied.get("msg") or "apply failed")
                self._display.warning(f"apply stopped after {result['changes_applied']} of "
                                      f"{len(plan.changes)} change(s): {result['apply_error']}")
        else:
            controls = mark_unchanged(controls, enforce, self._task.check_mode)
            changed = bool(plan.changes) and enforce

        result.update(plan.facts)
        result["meddev_host"] = {  # who and where, for reports grouped by customer and site
            "customer": self._templar.template(task_vars.get("meddev_customer", "")) or "",
            "site": self._templar.template(task_vars.get("meddev_site", "")) or "",
            "audit_only": not enforce,
            "cert_validation": str(self._templar.template(
                task_vars.get("ansible_winrm_server_cert_validation", "validate"))) != "ignore",
        }
        result.update(changed=changed, controls=[c.as_dict() for c in controls], host_calls=calls,
                      enforce=enforce)
        self.finish(result, desired, plan, changed)
        if plan.changes and self._task.diff:
            result["diff"] = plan.diff(self.DIFF_HEADER)
        counts = {k: v for k, v in summarize(controls).items() if v}
        result["msg"] = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "no controls"
        if counts.get(FAILED):
            result["failed"] = True
        if contract:
            result.update(failed=True, msg=contract)
        return result

    def _outcome(self, desired, plan, applied: dict) -> list:
        """Statuses after apply, judged on the state the host returned: fixed where it now matches,
        failed where it still differs. A failed apply without a state falls back on the count of
        changes the host confirmed: a control is done only when every one of its changes is."""
        error = str(applied.get("msg") or "apply failed") if applied.get("failed") else ""
        if "state" not in applied:
            count = int(applied.get("applied") or 0)
            pending = {cid for c in plan.changes[count:] for cid in c.controls}
            done = {cid for c in plan.changes[:count] for cid in c.controls} - pending
            return [c.with_status(FIXED) if c.id in done else
                    c.with_status(FAILED, f"not applied: {error}") if c.status == DRIFT or c.id in pending else c
                    for c in plan.controls]
        replan = self.plan(desired, applied["state"])
        verify = {c.id: c for c in replan.controls}
        # A control that is not drift may still carry a change (e.g. manual: kept in place for a GPO that
        # ignores it): if the apply failed before that change took, it is failed, not silently manual.
        still_planned = {cid for c in replan.changes for cid in c.controls}
        out = []
        for control in plan.controls:
            if control.status != DRIFT:
                unfinished = error and control.id in still_planned and any(
                    control.id in c.controls for c in plan.changes)
                out.append(control.with_status(FAILED, f"not applied: {error}") if unfinished else control)
                continue
            after = verify.get(control.id)
            if after is not None and after.status == DRIFT:
                why = f"not applied: {error}" if error else "applied, but the host still differs"
                out.append(control.with_status(FAILED, why, after.actual))
            else:
                out.append(control.with_status(FIXED, "", after.actual if after else control.expected))
        return out
