"""Planning and applying a firewall plan on a simulated host's firewall document (no Ansible run):
shared by the Group Policy and AllowInboundRules tests."""

import copy

from ansible_collections.meddev.hardening.plugins.module_utils import firewall
from ansible_collections.meddev.hardening.plugins.modules import firewall_policy as fw_sim
from ansible_collections.meddev.hardening.plugins.plugin_utils import winsim_profiles

GROUP = "meddev.hardening"


def seeded_firewall(profile: str) -> dict:
    return copy.deepcopy(winsim_profiles.load(profile)["state"]["firewall"])


def plan_for(state, **args):
    return firewall.plan(firewall.validate(args, "firewall_"), fw_sim.gather(state, GROUP))


def apply_all(state, plan):
    for change in plan.changes:
        fw_sim.apply_change(state, change.as_host_dict(), GROUP)


def by_id(plan):
    return {c.id: c for c in plan.controls}
