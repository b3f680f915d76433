# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of meddev.hardening.firewall_policy; the logic is in module_utils.firewall."""

from __future__ import annotations

from ansible_collections.meddev.hardening.plugins.module_utils import firewall
from ansible_collections.meddev.hardening.plugins.plugin_utils.host_action import HostAction


class ActionModule(HostAction):
    HOST_MODULE = "meddev.hardening.firewall_policy"
    DIFF_HEADER = "Windows Defender Firewall"
    _VALID_ARGS = frozenset((
        "state", "profiles_enabled", "default_inbound_block", "rules", "lrm_block_web",
        "management_networks", "management_ports", "exclusive", "rule_group", "variable_prefix",
    ))

    def validate(self, args, prefix):
        return firewall.validate(args, prefix)

    def host_args(self, desired):
        return {"rule_group": desired.group}

    def plan(self, desired, gathered):
        return firewall.plan(desired, gathered)
