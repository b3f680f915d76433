"""Every host module's twin returns what its result schema says (plugins/plugin_utils/host_schemas/).

Each twin runs through its real ``main()`` (only AnsibleModule is replaced, by a stand-in holding
the options with the HOST_ARGUMENT_SPEC defaults) on a host seeded from every seed profile: a
gather always, and on the profiles where the role has work to do an apply of the changes the real
action plugin plans, once to the end and once stopped by an injected fault after one change.
"""

import importlib
import json
import pathlib
from unittest import mock

import pytest
from reliability.rendered_catalog import render_catalog

from ansible_collections.meddev.hardening.plugins.action import baseline as baseline_action
from ansible_collections.meddev.hardening.plugins.action import defender_exclusion as defender_action
from ansible_collections.meddev.hardening.plugins.action import firewall_policy as firewall_action
from ansible_collections.meddev.hardening.plugins.action import host_evidence as evidence_action
from ansible_collections.meddev.hardening.plugins.action import iis_log_scan as logscan_action
from ansible_collections.meddev.hardening.plugins.action import iqwebx_licgen as iqwebx_action
from ansible_collections.meddev.hardening.plugins.action import lrm_patch as lrm_action
from ansible_collections.meddev.hardening.plugins.module_utils import iqwebx, winsim
from ansible_collections.meddev.hardening.plugins.plugin_utils import host_schema, winsim_profiles

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROFILES = winsim_profiles.available()
ACTIONS = {
    "firewall_policy": (firewall_action.ActionModule, {"lrm_block_web": True, "management_networks": ["10.10.0.0/24"],
                                                       "default_inbound_block": ["public"]}),
    "defender_exclusion": (defender_action.ActionModule, {
        "owner_record": r"C:\ProgramData\meddev.hardening\defender_exclusions.json",
        "exclusions": [{"kind": "path", "value": r"C:\Illumina", "source": ["SRC-LRM-6"]},
                       {"kind": "process", "value": "RTA.exe", "source": ["SRC-LRM-6"]}]}),
    "iqwebx_licgen": (iqwebx_action.ActionModule, {
        "install_dir": r"C:\Program Files\iQ-WEBX", "login_url": "http://localhost/iqweb/login",
        "evidence_path": r"C:\ProgramData\meddev.hardening\iqwebx_licgen\evidence.json"}),
    "lrm_patch": (lrm_action.ActionModule, {
        "audit_path": r"C:\ProgramData\meddev.hardening\lrm_patch\audit.json",
        "backup_dir": r"C:\ProgramData\meddev.hardening\backups", "busy_processes": ["RTA"]}),
    "baseline": (baseline_action.ActionModule, {"catalog": "rendered", "products": []}),
    "iis_log_scan": (logscan_action.ActionModule, {}),
    "host_evidence": (evidence_action.ActionModule, {}),
}
MODULES = sorted(ACTIONS)
READ_ONLY = {"iis_log_scan", "host_evidence"}


class Finished(Exception):
    """exit_json/fail_json end the module, as they do in Ansible."""


class StandInModule:
    """What run_host_module uses of AnsibleModule: params, check_mode, exit/fail/warn."""

    check_mode = False

    def __init__(self, spec: dict, params: dict):
        self.params = {name: option.get("default") for name, option in spec.items()} | params
        self.result = None

    def exit_json(self, **result):
        self.result = result
        raise Finished

    def fail_json(self, **result):
        self.result = {"failed": True, **result}
        raise Finished

    def warn(self, _message):
        pass


def run_twin(monkeypatch, name: str, state_dir, params: dict, fail_after=None) -> dict:
    twin = importlib.import_module(f"ansible_collections.meddev.hardening.plugins.modules.{name}")
    module = StandInModule(twin.HOST_ARGUMENT_SPEC, params)
    monkeypatch.setattr(twin, "AnsibleModule", lambda **_spec: module)
    monkeypatch.setenv(winsim.ENV_STATE_DIR, str(state_dir))
    if fail_after is None:
        monkeypatch.delenv(winsim.ENV_FAIL_AFTER, raising=False)
    else:
        monkeypatch.setenv(winsim.ENV_FAIL_AFTER, str(fail_after))
    with pytest.raises(Finished):
        twin.main()
    return json.loads(json.dumps(module.result))  # as the controller receives it


def desired_and_host_args(name: str):
    action, args = ACTIONS[name]
    if args.get("catalog") == "rendered":
        args = {**args, "catalog": render_catalog()}
    desired = action.validate(None, dict(args), "")
    return desired, action.host_args(None, desired)


def plan(name: str, desired, state: dict):
    if name == "iqwebx_licgen":  # the action's plan reads the distributor artifact from disk
        return iqwebx.plan(desired, state, None)
    return ACTIONS[name][0].plan(None, desired, state)


def seeded(tmp_path, profile: str):
    return winsim.seed(tmp_path / profile, profile, winsim_profiles.load(profile)).state_dir


def test_every_host_module_has_a_schema_with_state_and_apply_result():
    shipped = sorted(p.stem for p in (ROOT / "plugins/modules").glob("*.ps1"))
    assert shipped == MODULES
    assert sorted(p.stem for p in host_schema.SCHEMA_DIR.glob("*.json")) == MODULES
    for name in MODULES:
        document = host_schema.load(name)
        assert set(document["$defs"]) >= {"state", "apply_result"}, name
        assert document["$defs"]["state"]["type"] == "object"
        for part in ("state", "apply_result"):
            assert host_schema.check_schema(document["$defs"][part], part, document["$defs"]) == [], name


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", MODULES)
def test_twin_gather_matches_the_schema(monkeypatch, tmp_path, name, profile):
    _desired, host_args = desired_and_host_args(name)
    result = run_twin(monkeypatch, name, seeded(tmp_path, profile), {"phase": "gather", **host_args})
    assert not result.get("failed"), result.get("msg")
    assert host_schema.check_state(name, result["state"]) == []


@pytest.mark.parametrize("name", sorted(set(MODULES) - READ_ONLY))
@pytest.mark.parametrize("fail_after", [None, 1], ids=["whole", "fault-after-1"])
def test_twin_apply_result_matches_the_schema(monkeypatch, tmp_path, name, fail_after):
    profile = {"iqwebx_licgen": "iqwebx_quarantined"}.get(name, "lrm_instrument")
    state_dir = seeded(tmp_path, profile)
    desired, host_args = desired_and_host_args(name)
    gathered = run_twin(monkeypatch, name, state_dir, {"phase": "gather", **host_args})
    changes = [c.as_host_dict() for c in plan(name, desired, gathered["state"]).changes]
    assert len(changes) > 1, f"{name} on {profile}: nothing to apply, the test would prove nothing"
    result = run_twin(monkeypatch, name, state_dir, {"phase": "apply", **host_args, "changes": changes}, fail_after)
    assert bool(result.get("failed")) is (fail_after is not None), result.get("msg")
    assert "state" in result and result["applied"] == (fail_after or len(changes))
    assert host_schema.check_apply_result(name, result) == []


@pytest.mark.parametrize("name", sorted(READ_ONLY))
def test_read_only_twins_refuse_apply_in_the_shape_of_their_schema(monkeypatch, tmp_path, name):
    _desired, host_args = desired_and_host_args(name)
    result = run_twin(monkeypatch, name, seeded(tmp_path, "lrm_instrument"), {"phase": "apply", **host_args})
    assert result["failed"]
    assert host_schema.check_apply_result(name, result) == []


# --- at run time: the action plugins check what the host returns before planning on it ---------

def run_action(monkeypatch, tmp_path, name: str, profile: str, tamper) -> tuple:
    """The real action plugin over the twin, with ``tamper(phase, result)`` between host and plugin."""
    state_dir, phases = seeded(tmp_path, profile), []

    def execute_module(module_name, module_args, task_vars):
        phases.append(module_args["phase"])
        return tamper(module_args["phase"], run_twin(monkeypatch, name, state_dir, dict(module_args)))

    action_class, args = ACTIONS[name]
    task = mock.MagicMock(args=dict(args), async_val=0, check_mode=False, diff=False)
    templar = mock.MagicMock()
    templar.template.side_effect = lambda value: value
    action = action_class(task, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), templar, None)
    monkeypatch.setattr(action, "_execute_module", execute_module)
    return action.run(task_vars={"inventory_hostname": "lrm-miseq-01"}), phases


def untouched(_phase, result):
    return result


def test_a_valid_answer_passes_through_the_runtime_check(monkeypatch, tmp_path):
    result, phases = run_action(monkeypatch, tmp_path, "firewall_policy", "lrm_instrument", untouched)
    assert phases == ["gather", "apply"]
    assert not result.get("failed"), result["msg"]
    assert result["changes_applied"] == result["changes_planned"] > 0


def test_a_bare_string_where_a_list_belongs_fails_before_any_plan(monkeypatch, tmp_path):
    """A 1-item PowerShell pipeline comes back as a bare string: named, never read letter by letter."""
    def one_value_unwrapped(phase, result):
        result["state"]["exclusions"]["path"] = r"C:\Illumina"
        return result

    result, phases = run_action(monkeypatch, tmp_path, "defender_exclusion", "lrm_instrument", one_value_unwrapped)
    assert phases == ["gather"]
    assert result["failed"] and result["controls"] == [] and result["host_calls"] == 1
    assert result["msg"] == ("defender_exclusion on lrm-miseq-01: the host returned a state that does not match "
                             "the contract: state.exclusions.path: expected array, got string "
                             "(docs/host-contract.md)")


def test_a_gather_without_state_fails_clearly(monkeypatch, tmp_path):
    result, phases = run_action(monkeypatch, tmp_path, "host_evidence", "lrm_instrument",
                                lambda _phase, result: {"changed": False})
    assert phases == ["gather"] and result["failed"]
    assert "host_evidence on lrm-miseq-01: the host returned a state that does not match the contract: " \
           "state: missing from the result" in result["msg"]


def test_an_apply_result_outside_the_contract_fails_and_judges_nothing_fixed(monkeypatch, tmp_path):
    def enabled_as_text(phase, result):
        if phase == "apply":
            result["state"]["rules"][0]["enabled"] = "True"
        return result

    result, phases = run_action(monkeypatch, tmp_path, "firewall_policy", "lrm_instrument", enabled_as_text)
    assert phases == ["gather", "apply"]
    assert result["failed"]
    assert result["msg"].startswith("firewall_policy on lrm-miseq-01: the host returned an apply result that does "
                                    "not match the contract: result.state.rules[0].enabled: expected boolean, "
                                    "got string")
    assert result["changes_applied"] == result["changes_planned"] > 0  # what the host said it did
    statuses = {c["status"] for c in result["controls"]}
    assert "fixed" not in statuses and "failed" in statuses
    assert all(c["message"].startswith("not verified: ") for c in result["controls"] if c["status"] == "failed")


def test_an_apply_count_that_is_not_a_number_counts_as_nothing(monkeypatch, tmp_path):
    def count_as_text(phase, result):
        if phase == "apply":
            result["applied"] = "3"
        return result

    result, _phases = run_action(monkeypatch, tmp_path, "firewall_policy", "lrm_instrument", count_as_text)
    assert result["failed"] and result["changes_applied"] == 0
    assert "result.applied: expected integer, got string" in result["msg"]
