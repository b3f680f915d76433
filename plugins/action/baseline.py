# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of meddev.hardening.baseline; the logic is in module_utils.baseline."""

from __future__ import annotations

from ansible_collections.meddev.hardening.plugins.module_utils import baseline
from ansible_collections.meddev.hardening.plugins.plugin_utils.host_action import HostAction


class ActionModule(HostAction):
    HOST_MODULE = "meddev.hardening.baseline"
    DIFF_HEADER = "Windows baseline"
    _VALID_ARGS = frozenset(("catalog", "products", "protected_services", "variable_prefix"))

    def validate(self, args, prefix):
        return baseline.validate(args, prefix)

    def host_args(self, desired):
        registry = [{"path": e.spec["path"], "name": e.spec["name"]} for e in desired.entries
                    if e.mechanism == "registry"]
        services = sorted({s for e in desired.entries if e.mechanism == "service" and e.enabled for s in e.value})
        return {"registry_values": registry, "services": services}

    def plan(self, desired, gathered):
        return baseline.plan(desired, gathered)
