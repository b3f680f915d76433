# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of meddev.hardening.lrm_patch; the logic is in module_utils.lrm_patch.

Around the one gather and at most one apply (HostAction), SRC-LRM-5: with ``wait_for_idle`` a
deferred patch is applied as soon as the busy check (one probe call per poll) finds the instrument
idle; when the apply ended with the restart change, the host is waited for (host_restart) until its
boot time changes, then gathered again and every control judged on that state.
"""

from __future__ import annotations

import time

from ansible_collections.meddev.hardening.plugins.action import host_restart
from ansible_collections.meddev.hardening.plugins.module_utils import lrm_patch
from ansible_collections.meddev.hardening.plugins.module_utils.controls import (
    DEFERRED,
    DRIFT,
    FAILED,
    FIXED,
    summarize,
)
from ansible_collections.meddev.hardening.plugins.plugin_utils.host_action import HostAction
from ansible_collections.meddev.hardening.plugins.plugin_utils.report import utc_stamp
from ansible_collections.meddev.hardening.plugins.plugin_utils.version import collection_version

RESTART_REFUSED = "an instrument run is in progress"


class ActionModule(HostAction):
    HOST_MODULE = "meddev.hardening.lrm_patch"
    DIFF_HEADER = "Illumina LRM web configuration"
    _VALID_ARGS = frozenset((
        "state", "site_name", "upload_folders", "upload_patterns", "blocked_extensions", "install_ip_security",
        "force", "busy_processes", "busy_services", "audit_path", "backup_dir", "variable_prefix",
        "reboot", "reboot_delay_s", "reboot_timeout_s", "reboot_poll_s", "wait_for_idle", "wait_poll_s",
    ))

    def validate(self, args, prefix):
        return lrm_patch.validate(args, prefix, now=utc_stamp(), collection_version=collection_version())

    def host_args(self, desired):
        return {"audit_path": desired.audit_path, "backup_dir": desired.backup_dir,
                "busy_processes": list(desired.busy_processes), "busy_services": list(desired.busy_services)}

    def plan(self, desired, gathered):
        return lrm_patch.plan(desired, gathered)

    def finish(self, result, desired, plan, changed):
        if desired.state == "absent" and plan.facts.get("lrm_installed"):
            result.setdefault("warnings", []).append(
                "Illumina LRM security patch REMOVED (SRC-LRM-4): the original IIS configuration is back and "
                "Local Run Manager is reachable from the network again (CVE-2022-1517 to -1524, CVSS 10). "
                "Block TCP 80/443 with the firewall role or re-apply with lrm_patch_state=present.")

    # -- SRC-LRM-5 around the apply -----------------------------------------------------------------

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        if not result.get("controls") or not result.get("lrm_installed"):
            return result  # bad input, a failed gather, or no LRM: nothing to wait for
        args = dict(self._task.args)
        desired = self.validate(args, str(args.pop("variable_prefix", "") or ""))  # accepted once already
        live = result.get("enforce") and not self._task.check_mode
        if live and result.get("deferred") and desired.wait_for_idle_min > 0:
            result = self._wait_then_apply(desired, result, tmp, task_vars)
        if live and result.get("restart_planned") and "changes_applied" in result:
            self._after_restart(desired, result, task_vars)
        return result

    def _wait_then_apply(self, desired, result, tmp, task_vars):
        """Poll the busy check until the run ends, then gather, plan and apply again (one more task run)."""
        deadline = time.monotonic() + desired.wait_for_idle_min * 60
        polls, busy = 0, result.get("busy") or []
        while busy and time.monotonic() < deadline:
            time.sleep(min(desired.wait_poll_s, max(0.0, deadline - time.monotonic())))
            answer = host_restart.probe(self, self.host_args(desired), task_vars)
            polls += 1
            busy = answer.get("busy", busy) if not answer.get("error") else busy
        if busy:
            waited = f"; still busy after waiting {desired.wait_for_idle_min:g} min ({polls} poll(s))"
            result["controls"] = [{**c, "message": c["message"] + waited} if c["status"] == DEFERRED else c
                                  for c in result["controls"]]
            result.update(host_calls=result["host_calls"] + polls, idle_polls=polls)
            return result
        calls = result["host_calls"] + polls
        again = super().run(tmp, task_vars)
        again.update(host_calls=again.get("host_calls", 0) + calls, idle_polls=polls, waited_for_idle=True)
        return again

    def _after_restart(self, desired, result, task_vars):
        """The apply ended with the restart: wait for a new boot, gather again, judge every control on it."""
        controls = result["controls"]
        restart_id = "LRM-RESTART"
        error = str(result.get("apply_error") or "")
        if result.get("changes_applied") != result.get("changes_planned"):
            if RESTART_REFUSED in error:  # a run started between the gather and the restart
                controls[:] = [{**c, "status": DEFERRED, "message": f"{error} (SRC-LRM-5)"} if c["id"] == restart_id
                               else c for c in controls]
                self._summary(result)
            return
        old_boot = str(result.get("boot_time_gathered") or "")
        waited = host_restart.wait_for_new_boot(self, self.host_args(desired), task_vars, old_boot, desired.restart)
        result.update(host_calls=result["host_calls"] + waited["calls"], restarted=waited["restarted"],
                      boot_time_before=old_boot, boot_time=waited["boot_time"], restart_elapsed_s=waited["elapsed_s"],
                      restart_unreachable_attempts=waited["unreachable"])
        if not waited["restarted"]:
            controls[:] = [{**c, "status": FAILED, "message": waited["msg"]} if c["id"] == restart_id else c
                           for c in controls]
            self._summary(result)
            return
        again = self._host("gather", self.host_args(desired), task_vars)  # the test after the restart
        result["host_calls"] += 1
        problem = self._contract_error(task_vars, "gather", again) if not again.get("failed") else again.get("msg")
        verify = {} if problem else {c.id: c for c in lrm_patch.plan(desired, again["state"]).controls}
        out = []
        for control in controls:
            if control["id"] == restart_id:
                out.append({**control, "status": FIXED, "actual": waited["msg"], "message": ""})
            elif problem:
                out.append(control if control["status"] != FIXED else
                           {**control, "status": FAILED, "message": f"not verified after the restart: {problem}"})
            elif control["status"] in (FIXED, FAILED) and control["id"] in verify:
                after = verify[control["id"]]
                good = after.status != DRIFT
                out.append({**control, "status": FIXED if good else FAILED, "actual": after.actual,
                            "message": "" if good else "in drift again after the restart"})
            else:
                out.append(control)
        controls[:] = out
        self._summary(result)

    @staticmethod
    def _summary(result):
        """msg and failed again, as HostAction.run words them, after statuses changed here."""
        counts = {k: v for k, v in summarize(result["controls"]).items() if v}
        result["msg"] = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "no controls"
        result["failed"] = bool(counts.get(FAILED))
