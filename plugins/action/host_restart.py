# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restart an instrument PC when no run is in progress, and wait until it is back (SRC-LRM-5).

The host part is the lrm_patch host module: its ``restart`` change checks the busy processes and
services and then runs ``shutdown.exe /r /t <delay_s> /c <comment>``; its ``probe`` phase returns
Win32_OperatingSystem.LastBootUpTime and the busy check in one cheap call. The wait follows what
ansible.windows.win_reboot relies on over WinRM (read from its public source, no code taken): the
connection drops while Windows restarts, is reset and tried again, and the restart is done when the
boot time differs from the one read before it. The task ``meddev.hardening.lrm_patch`` uses the
same functions with ``lrm_patch_reboot``; this action restarts on its own (check mode never does).
"""

from __future__ import annotations

import contextlib
import time

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.meddev.hardening.plugins.module_utils import lrm_patch
from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError
from ansible_collections.meddev.hardening.plugins.plugin_utils import host_schema

HOST_MODULE = "meddev.hardening.lrm_patch"
COMMENT = "meddev.hardening: restart of the instrument PC (SRC-LRM-5)"


def reset_connection(connection) -> None:
    """Close and reset after a failed call: a WinRM shell of the old boot is gone (as win_reboot does)."""
    for step in (connection.close, connection.reset):
        with contextlib.suppress(AnsibleError, OSError):  # the next call tells whether the host is back
            step()


def call(action, phase: str, args: dict, task_vars: dict) -> dict:
    """One host module execution; an unreachable host is {'unreachable': True} (never raised)."""
    try:
        return action._execute_module(module_name=HOST_MODULE, module_args={"phase": phase, **args},
                                      task_vars=task_vars)
    except AnsibleConnectionFailure as error:
        reset_connection(action._connection)
        return {"unreachable": True, "msg": str(error)}


def probe(action, host_args: dict, task_vars: dict) -> dict:
    """{boot_time, busy}, or {'error': why} (unreachable, failed, or outside the contract)."""
    answer = call(action, "probe", host_args, task_vars)
    if answer.get("unreachable") or answer.get("failed"):
        return {"error": str(answer.get("msg") or "no answer"), "unreachable": bool(answer.get("unreachable"))}
    schema = host_schema.load("lrm_patch")["$defs"]
    problems = host_schema.validate(answer.get("probe"), schema["probe"], "probe", schema)
    return {"error": "; ".join(problems)} if problems else dict(answer["probe"])


def wait_for_new_boot(action, host_args: dict, task_vars: dict, old_boot: str, timing: dict) -> dict:
    """Ask for the boot time every poll_s seconds until it differs from old_boot, or timeout_s passes.

    Returns {restarted, boot_time, elapsed_s, calls (module executions that answered), unreachable (attempts
    that found the host down), msg}.
    """
    started, calls, unreachable, last_error = time.monotonic(), 0, 0, ""
    while time.monotonic() - started < timing["timeout_s"]:
        time.sleep(timing["poll_s"])
        answer = probe(action, host_args, task_vars)
        if answer.get("unreachable"):
            unreachable += 1
        else:
            calls += 1
        if answer.get("error"):
            last_error = answer["error"]
            continue
        if answer["boot_time"] != old_boot:
            return {"restarted": True, "boot_time": answer["boot_time"], "calls": calls, "unreachable": unreachable,
                    "elapsed_s": round(time.monotonic() - started, 1), "msg": f"restarted: boot {old_boot} -> "
                    f"{answer['boot_time']}"}
    return {"restarted": False, "boot_time": old_boot, "calls": calls, "unreachable": unreachable,
            "elapsed_s": round(time.monotonic() - started, 1),
            "msg": f"the restart was started but the host did not come back with a new boot time within "
                   f"{timing['timeout_s']} s (last answer: {last_error or 'the old boot time'})"}


class ActionModule(ActionBase):
    """Restart now if no run is in progress; wait for the new boot. Check mode reports only."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    _VALID_ARGS = frozenset(("busy_processes", "busy_services", "audit_path", "backup_dir", "reboot_delay_s",
                             "reboot_timeout_s", "reboot_poll_s", "variable_prefix"))

    def validate(self, args: dict, prefix: str):
        desired = lrm_patch.validate({**args, "reboot": "always"}, prefix)
        if not (desired.busy_processes or desired.busy_services):  # shutdown /t above 0 implies /f
            raise ArgumentError(f"{prefix}busy_processes", f"empty, and so is {prefix}busy_services: without a "
                                "run-in-progress check this action does not restart")
        return desired

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        prefix = str(args.pop("variable_prefix", "") or "")
        args.setdefault("audit_path", lrm_patch_default("audit_path"))
        args.setdefault("backup_dir", lrm_patch_default("backup_dir"))
        try:
            desired = self.validate(args, prefix)
        except ArgumentError as error:
            return {**result, "failed": True, "msg": str(error), "host_calls": 0}
        host_args = {"audit_path": desired.audit_path, "backup_dir": desired.backup_dir,
                     "busy_processes": list(desired.busy_processes), "busy_services": list(desired.busy_services)}
        before = probe(self, host_args, task_vars)
        if before.get("error"):
            return {**result, "failed": True, "host_calls": 1, "msg": f"boot time not read: {before['error']}"}
        if before["busy"]:
            return {**result, "changed": False, "restarted": False, "deferred": True, "host_calls": 1,
                    "msg": f"an instrument run is in progress ({', '.join(before['busy'])}): not restarted (SRC-LRM-5)"}
        if self._task.check_mode:
            return {**result, "changed": True, "restarted": False, "host_calls": 1, "msg": "would restart (check mode)"}
        change = {"kind": "restart", "delay_s": desired.restart["delay_s"], "comment": COMMENT,
                  "busy_processes": host_args["busy_processes"], "busy_services": host_args["busy_services"]}
        started = call(self, "apply", {**host_args, "changes": [change]}, task_vars)
        if started.get("unreachable") or started.get("failed") or started.get("applied") != 1:
            return {**result, "failed": True, "host_calls": 2, "restarted": False,
                    "msg": f"restart not started: {started.get('msg') or 'no answer'}"}
        waited = wait_for_new_boot(self, host_args, task_vars, before["boot_time"], desired.restart)
        result.update(changed=True, restarted=waited["restarted"], boot_time_before=before["boot_time"],
                      boot_time=waited["boot_time"], elapsed_s=waited["elapsed_s"], msg=waited["msg"],
                      host_calls=2 + waited["calls"], unreachable_attempts=waited["unreachable"])
        if not waited["restarted"]:
            result["failed"] = True
        return result


def lrm_patch_default(name: str) -> str:
    return {"audit_path": "C:\\ProgramData\\meddev.hardening\\lrm_patch\\audit.json",
            "backup_dir": "C:\\ProgramData\\meddev.hardening\\backups"}[name]
