# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of meddev.hardening.defender_exclusion; the logic is in module_utils.defender."""

from __future__ import annotations

from ansible_collections.meddev.hardening.plugins.module_utils import defender
from ansible_collections.meddev.hardening.plugins.plugin_utils.host_action import HostAction


class ActionModule(HostAction):
    HOST_MODULE = "meddev.hardening.defender_exclusion"
    DIFF_HEADER = "Microsoft Defender exclusions"
    _VALID_ARGS = frozenset(("state", "exclusions", "exclusive", "products", "owner_record", "retired",
                             "variable_prefix"))

    def validate(self, args, prefix):
        return defender.validate(args, prefix)

    def host_args(self, desired):
        return {"owner_record": desired.owner_record, "third_party_services": defender.THIRD_PARTY_SERVICES}

    def plan(self, desired, gathered):
        return defender.plan(desired, gathered)
