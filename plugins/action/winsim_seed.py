# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create a simulated host from a named profile, on the controller (no host round trip)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.meddev.hardening.plugins.module_utils import winsim
from ansible_collections.meddev.hardening.plugins.plugin_utils import winsim_profiles


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _VALID_ARGS = frozenset(("profile", "profile_dir"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        state_dir = getattr(self._connection, "state_dir", None)
        if state_dir is None:
            return {**result, "failed": True,
                    "msg": "winsim_seed works only on hosts whose ansible_connection is meddev.hardening.winsim"}
        try:
            profile = winsim_profiles.load(self._task.args.get("profile"), self._task.args.get("profile_dir"))
        except ValueError as error:
            return {**result, "failed": True, "msg": str(error)}
        path = state_dir()
        if not self._task.check_mode:
            winsim.seed(path, self._task.args["profile"], profile)
        return {**result, "changed": True, "state_dir": path, "profile": self._task.args["profile"]}
