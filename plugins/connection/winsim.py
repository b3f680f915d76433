# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection to a simulated Windows host: runs each module's ``.py`` (winsim) side locally."""

from __future__ import annotations

DOCUMENTATION = r"""
name: winsim
short_description: Run this collection's Windows modules against a simulated Windows host
version_added: 0.1.0
description:
  - A local connection that makes Ansible pick each module's C(.py) implementation, which works
    on a simulated Windows host kept in a directory, instead of the C(.ps1) that a real host runs
    over WinRM. Inventory, variables, roles, action plugins, check mode, diff and callbacks are
    the real Ansible code path.
  - Every module execution is one line in C(<state_dir>/calls.log), the round trip a WinRM host
    would pay. Latency and faults can be injected per host.
  - Only modules with a C(.py) implementation run here; a PowerShell-only module fails to load.
author:
  - meddev.hardening contributors
extends_documentation_fragment:
  - connection_pipelining
options:
  state_dir:
    description:
      - Directory holding the simulated host's state. Relative paths are taken from the
        current directory.
      - Defaults to C(<lab_dir>/<inventory_hostname>).
    type: path
    vars:
      - name: winsim_state_dir
  lab_dir:
    description:
      - Directory holding the state of every simulated host of the inventory, one folder per host.
      - A relative path is taken from the inventory's directory. Defaults to C(.lab) next to the
        inventory (C(<inventory_dir>/.lab)), so the lab's state stays with the inventory that
        describes it.
      - An installed collection is never written to (it may be read-only, or part of an execution
        environment). For an inventory inside one, such as its own C(inventories/lab), the default is
        C(.lab) in the current directory; copy the inventory out to keep the lab with it.
    type: str
    vars:
      - name: meddev_lab_dir
  inventory_dir:
    description: Directory of the inventory source that defines the host, for the default O(lab_dir).
    type: str
    vars:
      - name: inventory_dir
  inventory_hostname:
    description: Name of the host, for the default O(state_dir).
    type: str
    vars:
      - name: inventory_hostname
  latency_ms:
    description: Milliseconds each module execution waits, to model a WinRM round trip.
    type: int
    default: 0
    vars:
      - name: winsim_latency_ms
  fail_call:
    description:
      - Fail the Nth module execution counted in C(calls.log) since the host was seeded
        (1 is the first). 0 injects nothing.
    type: int
    default: 0
    vars:
      - name: winsim_fail_call
  fail_after_changes:
    description:
      - Make every apply fail, as a cmdlet error would, after this many of its changes (0 fails
        before the first change). -1 injects nothing. With O(drop_call), the drop happens there instead.
    type: int
    default: -1
    vars:
      - name: winsim_fail_after_changes
  drop_call:
    description:
      - Drop the connection during the Nth module execution since the host was seeded. The module
        runs (up to O(fail_after_changes) changes, else all its work, like a timeout after which the
        host finished) and no reply arrives; the host is reported unreachable. 0 injects nothing.
    type: int
    default: 0
    vars:
      - name: winsim_drop_call
  lock_timeout:
    description: Seconds a module execution waits for another run's host lock before failing.
    type: int
    default: 300
    vars:
      - name: winsim_lock_timeout
"""

import os
import resource

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.connection.local import Connection as LocalConnection

from ansible_collections.meddev.hardening.plugins.module_utils import winsim

# The collection this plugin belongs to: a checkout, or an installed copy (which has a MANIFEST.json).
COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))


def in_installed_collection(path: str) -> bool:
    """Whether path lies inside this collection as installed by ansible-galaxy (never to be written)."""
    if not os.path.isfile(os.path.join(COLLECTION_ROOT, "MANIFEST.json")):
        return False
    return os.path.commonpath((os.path.realpath(path), COLLECTION_ROOT)) == COLLECTION_ROOT


class Connection(LocalConnection):
    transport = "meddev.hardening.winsim"
    has_pipelining = True
    # Prefer the simulated (.py) implementation; never fall back to a .ps1 it cannot run.
    module_implementation_preferences = (".py",)

    def lab_dir(self) -> str:
        # Next to the inventory: a distributor's copied lab inventory keeps its own state. A collection
        # installed read-only (or in an execution environment) is never written to: for the inventory it
        # ships, the current directory. Without an inventory directory (`-i host,`): the current one.
        inventory_dir = self.get_option("inventory_dir") or "."
        configured = os.path.expanduser(self.get_option("lab_dir") or "")
        if configured:
            return os.path.abspath(os.path.join(inventory_dir, configured))
        if in_installed_collection(inventory_dir):
            return os.path.abspath(".lab")
        return os.path.abspath(os.path.join(inventory_dir, ".lab"))

    def state_dir(self) -> str:
        configured = self.get_option("state_dir")
        if configured:
            return os.path.abspath(configured)
        return os.path.join(self.lab_dir(), self.get_option("inventory_hostname") or "default")

    def _log_host_cpu(self, before) -> None:
        """CPU seconds of the simulated host's side of this execution (the module process: on a real host it
        runs on Windows), so a benchmark can tell the controller's CPU from the simulation's (host_cpu.log)."""
        if not os.environ.get(winsim.ENV_HOST_CPU_LOG):  # only benchmarks ask for it (tests/tools/bench.py)
            return
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        try:
            with open(os.path.join(self.state_dir(), winsim.HOST_CPU_LOG), "a", encoding="utf-8") as log:
                log.write(f"{seconds:.6f}\n")
        except OSError:  # no state folder (a host that was never seeded): nothing to measure
            pass

    def exec_command(self, cmd, in_data=None, sudoable=True):
        # The worker process runs one task for one host, so its environment is ours to set;
        # the module process inherits it.
        os.environ[winsim.ENV_STATE_DIR] = self.state_dir()
        os.environ[winsim.ENV_LATENCY_MS] = str(self.get_option("latency_ms") or 0)
        os.environ[winsim.ENV_FAIL_CALL] = str(self.get_option("fail_call") or 0)
        os.environ[winsim.ENV_FAIL_AFTER] = str(self.get_option("fail_after_changes"))
        os.environ[winsim.ENV_DROP_CALL] = str(self.get_option("drop_call") or 0)
        os.environ[winsim.ENV_LOCK_TIMEOUT] = str(self.get_option("lock_timeout"))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        rc, stdout, stderr = super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        self._log_host_cpu(before)
        if rc == winsim.DOWN_EXIT:  # the simulated host is restarting (winsim reboot model)
            raise AnsibleConnectionFailure(f"winsim: {self.state_dir()} is restarting: no answer (WinRM refused)")
        if rc == winsim.DROP_EXIT and self.get_option("drop_call"):
            raise AnsibleConnectionFailure(f"winsim: connection to {self.state_dir()} dropped (injected fault)")
        return rc, stdout, stderr
