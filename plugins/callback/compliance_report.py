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
    writes three files into C(<report_dir>/<UTC timestamp>/) and points C(<report_dir>/latest) at
    that folder.
  - C(report.json), the data (schema in docs/report.md and docs/report.schema.json), including the
    run's verdict C(gate) (C(passed), C(reason)).
  - C(junit.xml), the same controls as JUnit XML for CI (one testsuite per host, one testcase per
    control; drift and failed are failures).
  - C(report.html), one self-contained page for people (no external scripts, styles or fonts).
  - Then prints a one-screen summary (hosts by status, what changed since the last run of the same
    inventory, every problem up to a cap) that ends with one verdict line, C(GATE PASSED) or
    C(GATE FAILED) with the reason, and the path of C(report.html).
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
  file_mode:
    description:
      - Mode of the report files, as an octal string; the run folder gets the matching directory
        mode (C(0644) gives C(0755), C(0600) gives C(0700)). Applied whatever the umask.
      - The default lets the CI job, the web server or the colleague who reads the reports read
        them; they hold host names and settings, no secrets (those are C(no_log)). Set C(0600) to
        keep them to the user who runs Ansible.
      - Owner read and write are required and execute bits are refused; with such a value the run
        warns and writes its reports C(0600).
    type: str
    default: "0644"
    env:
      - name: MEDDEV_REPORT_FILE_MODE
    ini:
      - section: meddev_report
        key: file_mode
"""

from ansible import context
from ansible.errors import AnsibleError
from ansible.plugins.callback import CallbackBase
from ansible.template import Templar

from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError, as_bool
from ansible_collections.meddev.hardening.plugins.plugin_utils import report, report_formats, report_html
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
        self.play = None
        self.host_objects = {}
        self.file_mode = report.FILE_MODE
        self.notes = []

    def set_options(self, task_keys=None, var_options=None, direct=None):
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        # Ansible only warns when a callback fails to load and runs on without it: a wrong mode must not
        # cost the report, so it is written private (0600) and the summary says why.
        self.notes = []
        try:
            self.file_mode = report.parse_file_mode(self.get_option("file_mode"))
        except ValueError as error:
            self.file_mode = 0o600
            self.notes.append(f"WARNING meddev.hardening.compliance_report {error}; this run's reports are 0600")
            self._display.warning(self.notes[-1])

    def v2_playbook_on_start(self, playbook):
        self.playbook = getattr(playbook, "_file_name", "") or ""

    def v2_playbook_on_play_start(self, play):
        self.play = play
        self.check_modes.append(bool(play.check_mode) or bool(context.CLIARGS.get("check")))
        # A play can name its report mode (investigate.yml sets meddev_report_mode: investigate).
        mode = (play.vars or {}).get("meddev_report_mode")
        if mode:
            self.modes.add(str(mode))

    def _record(self, result, failed=None):
        name = result._host.get_name()
        self.host_objects[name] = result._host
        values = result._result if failed is None else {**result._result, "failed": failed}
        self.recorder.add_result(name, values, result._task.get_name())

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        # Callbacks get the result without its "failed" key (the event says it); the recorder needs it to
        # keep the error of a task that failed without controls (bad input, a failed gather). A failed
        # assert is the drift gate's verdict on controls already in the report, not an error.
        gate = result._task.action in GATES
        self._record(result, failed=not gate)
        if gate:
            self.recorder.add_gate_failure(result._host.get_name())

    def v2_runner_on_unreachable(self, result):
        self.host_objects[result._host.get_name()] = result._host
        self.recorder.add_unreachable(result._host.get_name(), str(result._result.get("msg", "")))

    def _inventory_identity(self, name):
        """customer, site, audit_only from inventory, for a host no module answered for (unreachable,
        failed in preflight): the report still says whose it is and whether it is audit-only."""
        host = self.host_objects.get(name)
        manager = getattr(self.play, "_variable_manager", None)
        if host is None or manager is None:
            return {}
        try:
            variables = manager.get_vars(play=self.play, host=host, include_hostvars=False)
            templar = Templar(loader=getattr(self.play, "_loader", None), variables=variables)

            def value(key, default):
                return templar.template(variables.get(key, default))

            return {"customer": str(value("meddev_customer", "") or ""), "site": str(value("meddev_site", "") or ""),
                    "audit_only": not as_bool(value("meddev_enforce", True), "meddev_enforce", True)}
        except (AnsibleError, ArgumentError, TypeError, ValueError) as error:
            self._display.warning(f"compliance_report: customer/site of {name} not read from inventory: {error}")
            return {}

    def v2_playbook_on_stats(self, stats):
        if not self.recorder.hosts:
            return
        for name, entry in self.recorder.hosts.items():
            if "customer" not in entry:
                entry.update(self._inventory_identity(name))
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
        history = report_html.load_history(report_dir, inventory, before=data["generated"])  # the drift trend
        folder = report.write(data, report_dir, {"junit.xml": report_formats.junit(data),
                                                 "report.html": report_formats.render_html(data, history)},
                              self.file_mode)
        keep = int(self.get_option("keep") or 0)
        notes = self.notes + [f"report retention: removed old run {name} (keep={keep})"
                              for name in report.prune(report_dir, keep)]
        for line in report.summary_lines(data, folder, notes):
            self._display.display(line)
