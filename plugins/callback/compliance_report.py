# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write reports/<timestamp>/report.json after every run and print a one-screen summary."""

from __future__ import annotations

DOCUMENTATION = r"""
name: compliance_report
type: aggregate
short_description: Compliance report of the controls every meddev.hardening module returns
version_added: 0.1.0
description:
  - Collects the C(controls) and C(host_calls) of every task result and, when the playbook ends,
    writes C(<report_dir>/<UTC timestamp>/report.json), points C(<report_dir>/latest) at it, and
    prints a summary with one line per host and one line per control in drift or failed.
  - The schema is documented in docs/report.md.
requirements:
  - enable in ansible.cfg (C(callbacks_enabled = meddev.hardening.compliance_report))
options:
  report_dir:
    description: Folder that receives the reports.
    type: path
    default: reports
    env:
      - name: MEDDEV_REPORT_DIR
    ini:
      - section: meddev_report
        key: report_dir
  keep:
    description:
      - How many runs to keep in O(report_dir); older run folders are removed and each removal is
        printed. 0 keeps every run (evidence, SRC-IQW-10).
    type: int
    default: 0
    env:
      - name: MEDDEV_REPORT_KEEP
    ini:
      - section: meddev_report
        key: keep
"""

from ansible import context
from ansible.plugins.callback import CallbackBase

from ansible_collections.meddev.hardening.plugins.plugin_utils import report, report_formats
from ansible_collections.meddev.hardening.plugins.plugin_utils.version import collection_version

GATES = frozenset(("assert", "ansible.builtin.assert", "ansible.legacy.assert"))


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "meddev.hardening.compliance_report"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.recorder = report.RunRecorder()
        self.check_modes = []
        self.modes = set()
        self.playbook = ""

    def v2_playbook_on_start(self, playbook):
        self.playbook = getattr(playbook, "_file_name", "") or ""

    def v2_playbook_on_play_start(self, play):
        self.check_modes.append(bool(play.check_mode) or bool(context.CLIARGS.get("check")))
        # A play can name its report mode (investigate.yml sets meddev_report_mode: investigate).
        mode = (play.vars or {}).get("meddev_report_mode")
        if mode:
            self.modes.add(str(mode))

    def _record(self, result):
        self.recorder.add_result(result._host.get_name(), result._result, result._task.get_name())

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        # Callbacks get the result without its "failed" key (the event says it); the recorder needs it to
        # keep the error of a task that failed without controls (bad input, a failed gather). A failed
        # assert is the drift gate's verdict on controls already in the report, not an error.
        failed = result._task.action not in GATES
        self.recorder.add_result(result._host.get_name(), {**result._result, "failed": failed}, result._task.get_name())

    def v2_runner_on_unreachable(self, result):
        self.recorder.add_unreachable(result._host.get_name(), str(result._result.get("msg", "")))

    def v2_playbook_on_stats(self, stats):
        if not self.recorder.hosts:
            return
        mode = "check" if self.check_modes and all(self.check_modes) else "apply"
        if len(self.modes) == 1:
            mode = self.modes.pop()
        inventory = sorted(str(i) for i in (context.CLIARGS.get("inventory") or []))
        data = self.recorder.build(
            mode, playbook=self.playbook, collection_version=collection_version(), inventory=inventory,
            unreachable=sorted(h for h, e in self.recorder.hosts.items() if e["unreachable"]))
        report_dir = self.get_option("report_dir")
        previous_name, previous = report.previous_report(report_dir, inventory)
        data["since_last_run"] = report.since_last_run(data, previous, previous_name)
        folder = report.write(data, report_dir, {"junit.xml": report_formats.junit(data),
                                                 "report.html": report_formats.render_html(data)})
        for line in report.summary_lines(data, folder):
            self._display.display(line)
        for name in report.prune(report_dir, int(self.get_option("keep") or 0)):
            self._display.display(f"report retention: removed old run {name} (keep={self.get_option('keep')})")
