"""HostAction._outcome: how controls are judged after an apply, from the state the host returned."""

from ansible_collections.meddev.hardening.plugins.module_utils.controls import (
    DRIFT,
    FAILED,
    FIXED,
    MANUAL,
    Change,
    Control,
    Plan,
)
from ansible_collections.meddev.hardening.plugins.plugin_utils.host_action import HostAction


class KeepRuleAction(HostAction):
    """One rule kept in place for a GPO that ignores it (manual, with a change), one plain setting (drift)."""

    def plan(self, desired, gathered):
        controls, changes = [], []
        rule = Control("FW-KEEP", "kept rule", ("SRC-X",), "present", "present" if gathered["rule"] else "absent",
                       MANUAL, "local rules are not applied")
        controls.append(rule)
        if not gathered["rule"]:
            changes.append(Change("FW-KEEP", "create_rule", {}, "absent", "present"))
        setting = Control("FW-ON", "profile on", ("SRC-X",), "on", gathered["on"], DRIFT if gathered["on"] != "on"
                          else "compliant")
        controls.append(setting)
        if gathered["on"] != "on":
            changes.append(Change("FW-ON", "set_profile", {}, gathered["on"], "on"))
        return Plan(tuple(controls), tuple(changes))


def outcome(applied: dict) -> dict:
    action = object.__new__(KeepRuleAction)  # _outcome needs only plan(): no Ansible task here
    plan = action.plan(None, {"rule": False, "on": "off"})
    return {c.id: c for c in action._outcome(None, plan, applied)}


def test_a_manual_control_whose_change_did_not_take_is_failed_not_silently_manual():
    result = outcome({"failed": True, "msg": "New-NetFirewallRule: access denied", "applied": 0,
                      "state": {"rule": False, "on": "off"}})
    assert result["FW-KEEP"].status == FAILED and "access denied" in result["FW-KEEP"].message
    assert result["FW-ON"].status == FAILED


def test_a_manual_control_whose_change_took_stays_manual():
    result = outcome({"failed": True, "msg": "Set-NetFirewallProfile: boom", "applied": 1,
                      "state": {"rule": True, "on": "off"}})
    assert result["FW-KEEP"].status == MANUAL and result["FW-ON"].status == FAILED


def test_without_a_state_the_count_decides_for_manual_controls_too():
    result = outcome({"failed": True, "msg": "connection reset", "applied": 0})
    assert result["FW-KEEP"].status == FAILED and result["FW-ON"].status == FAILED
    done = outcome({"changed": True, "applied": 2, "state": {"rule": True, "on": "on"}})
    assert done["FW-KEEP"].status == MANUAL and done["FW-ON"].status == FIXED
