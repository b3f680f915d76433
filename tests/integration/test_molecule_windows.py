# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""molecule/windows without a Windows host: reported SKIPPED (never "Successful"), its playbooks
and scripts still checked, and what it would run on a real host is the whole collection.

The simulated scenarios themselves run once, in `make molecule`; here a stand-in molecule records
what tests/tools/molecule_scenarios.sh would run, so nothing is run twice.
"""

from __future__ import annotations

import os
import pathlib
import stat
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "tools" / "molecule_scenarios.sh"
SCENARIO = ROOT / "extensions" / "molecule" / "windows"
PLAYBOOKS = sorted(p for p in SCENARIO.glob("*.yml") if p.name != "molecule.yml")
REQUIRED = ("WINRM_HOST", "WINRM_USER", "WINRM_PASSWORD", "WINRM_MANAGEMENT_NETWORK")
SKIPPED = "molecule/windows: SKIPPED — WINRM_HOST is not set (see docs/windows-test-host.md)"
SIMULATED = sorted(p.name for p in (ROOT / "extensions" / "molecule").iterdir() if p.is_dir() and p.name != "windows")
# The only ansible.builtin modules that run on Windows without the ansible.windows collection:
# ansible-core redirects slurp, setup, async_status (and fetch/stat/copy/file/ping internally) to
# it when the host runs PowerShell (ansible/config/ansible_builtin_runtime.yml, action/__init__.py).
HOST_MODULES = {"ansible.builtin.raw", "ansible.builtin.script"}
CONTROLLER_ONLY = {"ansible.builtin.assert", "ansible.builtin.debug", "ansible.builtin.meta",
                   "ansible.builtin.set_fact"}


def _env(**overrides) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in REQUIRED and k != "MOLECULE_BIN"}
    env.update(overrides)
    return env


def _run(mode: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), mode], check=False, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def fake_molecule(tmp_path):
    """A molecule that records its arguments and fails for the scenario named in FAIL_SCENARIO."""
    log = tmp_path / "calls.log"
    fake = tmp_path / "molecule"
    fake.write_text('#!/bin/sh\necho "$*" >> "$MOLECULE_CALLS"\necho "INFO windows: Executed: Successful"\n'
                    '[ "$3" = "${FAIL_SCENARIO:-}" ] && exit 1\nexit 0\n', encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return fake, log


def _calls(log: pathlib.Path) -> list:
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def test_without_winrm_host_windows_is_skipped_not_successful():
    result = _run("windows-if-configured", _env())
    assert result.returncode == 0, result.stderr
    assert SKIPPED in result.stdout
    assert "Successful" not in result.stdout + result.stderr
    assert "molecule/windows: playbooks pass ansible-playbook --syntax-check" in result.stdout
    assert "molecule/windows: scripts pass tests/tools/ps1_check.py" in result.stdout


def test_an_empty_winrm_host_counts_as_unset():
    result = _run("windows-if-configured", _env(WINRM_HOST=""))
    assert result.returncode == 0 and SKIPPED in result.stdout


def test_make_molecule_runs_every_simulated_scenario_and_never_molecule_for_windows(fake_molecule):
    fake, log = fake_molecule
    result = _run("all", _env(MOLECULE_BIN=str(fake), MOLECULE_CALLS=str(log)))
    assert result.returncode == 0, result.stderr
    assert _calls(log) == [f"test -s {name}" for name in SIMULATED]
    assert result.stdout.rstrip().endswith(SKIPPED)


def test_make_molecule_stops_at_the_first_failing_simulated_scenario(fake_molecule):
    fake, log = fake_molecule
    result = _run("all", _env(MOLECULE_BIN=str(fake), MOLECULE_CALLS=str(log), FAIL_SCENARIO=SIMULATED[0]))
    assert result.returncode != 0
    assert _calls(log) == [f"test -s {SIMULATED[0]}"]
    assert "SKIPPED" not in result.stdout


def test_with_a_configured_host_make_molecule_runs_the_windows_scenario(fake_molecule):
    fake, log = fake_molecule
    env = _env(MOLECULE_BIN=str(fake), MOLECULE_CALLS=str(log), **{name: "x" for name in REQUIRED})
    result = _run("windows-if-configured", env)
    assert result.returncode == 0, result.stderr
    assert _calls(log) == ["test -s windows"]
    assert "SKIPPED" not in result.stdout


@pytest.mark.parametrize("unset", REQUIRED)
def test_make_molecule_windows_fails_loudly_and_names_what_is_missing(fake_molecule, unset):
    fake, log = fake_molecule
    env = _env(MOLECULE_BIN=str(fake), MOLECULE_CALLS=str(log), **{n: "x" for n in REQUIRED if n != unset})
    result = _run("windows", env)
    assert result.returncode != 0
    assert f"not set: {unset}" in result.stderr and "docs/windows-test-host.md" in result.stderr
    assert _calls(log) == []


def test_the_make_targets_use_the_script():
    dry = subprocess.run(["make", "-n", "molecule", "molecule-windows"], check=False, cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert "tests/tools/molecule_scenarios.sh all" in dry.stdout
    assert "tests/tools/molecule_scenarios.sh windows" in dry.stdout


def test_a_broken_windows_playbook_fails_the_skip_path(tmp_path):
    """The syntax check in the skip path is real: the same command rejects a broken playbook."""
    broken = tmp_path / "broken.yml"
    broken.write_text("- hosts: all\n  tasks:\n    - ansible.builtin.no_such_module: {}\n", encoding="utf-8")
    inventory = tmp_path / "hosts"
    inventory.write_text("windows-target ansible_connection=winrm ansible_host=unset.invalid\n", encoding="utf-8")
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "--syntax-check", "-i", str(inventory),
                             *map(str, PLAYBOOKS), str(broken)], check=False, cwd=ROOT,
                            env=_env(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg")), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0 and "no_such_module" in result.stdout + result.stderr


def test_windows_scripts_pass_the_powershell_checks():
    scripts = sorted(SCENARIO.glob("files/*.ps1"))
    assert scripts
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "tests/tools/ps1_check.py", *map(str, scripts)],
                            check=False, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def _tasks(plays: list) -> list:
    tasks = []
    for play in plays:
        for section in ("pre_tasks", "tasks", "post_tasks"):
            tasks.extend(play.get(section) or [])
    return tasks


def _module(task: dict) -> str:
    keys = [k for k in task if k.startswith("ansible.builtin.") or k.startswith("meddev.hardening.")]
    assert len(keys) == 1, task
    return keys[0]


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=lambda p: p.name)
def test_only_modules_that_run_on_windows_without_galaxy_collections(playbook):
    for task in _tasks(yaml.safe_load(playbook.read_text(encoding="utf-8"))):
        module = _module(task)
        if task.get("delegate_to") == "localhost" or module in CONTROLLER_ONLY:
            continue
        assert module in HOST_MODULES, f"{playbook.name}: {task['name']} uses {module}"
        if module == "ansible.builtin.raw":
            # Constant PowerShell only: a templated value would be code built from data.
            assert "{{" not in task[module] and "{%" not in task[module], task["name"]
        if module == "ansible.builtin.script":
            assert (SCENARIO / task[module]).is_file() and " " not in task[module].strip(), task["name"]


def test_the_scenario_runs_every_role_check_first_then_apply_idempotence_verify_rollback():
    config = yaml.safe_load((SCENARIO / "molecule.yml").read_text(encoding="utf-8"))
    sequence = config["scenario"]["test_sequence"]
    order = ["prepare", "side_effect record_host_state.yml", "check", "side_effect check_changed_nothing.yml",
             "converge", "idempotence", "verify", "side_effect"]
    assert [step for step in sequence if step in order] == order
    converge = yaml.safe_load((SCENARIO / "converge.yml").read_text(encoding="utf-8"))
    assert converge[0]["ansible.builtin.import_playbook"] == "../../../playbooks/site.yml"
    verify = yaml.safe_load((SCENARIO / "verify.yml").read_text(encoding="utf-8"))
    imported = [play["ansible.builtin.import_playbook"] for play in verify if "ansible.builtin.import_playbook" in play]
    assert imported == ["../../../playbooks/drift.yml", "../../../playbooks/investigate.yml"]
    site = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text(encoding="utf-8"))
    roles = {r["role"].split(".")[-1] for r in next(play for play in site if "roles" in play)["roles"]}
    assert roles == {p.name for p in (ROOT / "roles").iterdir() if p.is_dir()}
    host = config["provisioner"]["inventory"]["host_vars"]["windows-target"]
    # site.yml runs lrm_patch and iqwebx_licgen only for these products.
    assert {"illumina_lrm", "iqwebx"} <= set(host["meddev_products"])
    assert host["ansible_winrm_scheme"] == "https" and host["ansible_winrm_server_cert_validation"] == "validate"
    rollback = yaml.safe_load((SCENARIO / "side_effect.yml").read_text(encoding="utf-8"))
    assert rollback[0]["roles"][0]["vars"] == {"lrm_patch_state": "absent"}


def _without_host_only_tasks(plays: list) -> list:
    """The plays minus raw/script tasks (they need Windows) and the tasks reading what those registered."""
    dropped: set = set()
    kept_plays = []
    for original in plays:
        play = dict(original)
        for section in ("pre_tasks", "tasks", "post_tasks"):
            kept = []
            for task in play.get(section) or []:
                text = yaml.safe_dump(task)
                if _module(task) in HOST_MODULES or any(name in text for name in dropped):
                    dropped.add(task.get("register") or "\0")
                    continue
                kept.append(task)
            if section in play:
                play[section] = kept
        kept_plays.append(play)
    return kept_plays


def test_the_scenario_assertions_hold_on_the_simulated_lrm_instrument(tmp_path):
    """converge.yml and the rollback side effect, run against the winsim twin of an LRM PC: their
    assertions (controls reported, none failed, rollback fixed then idempotent) are sound."""
    state = tmp_path / "lrm"
    inventory = tmp_path / "hosts.yml"
    host = yaml.safe_load((SCENARIO / "molecule.yml").read_text(encoding="utf-8"))[
        "provisioner"]["inventory"]["host_vars"]["windows-target"]
    host_vars = {key: value for key, value in host.items() if not key.startswith("ansible_")
                 and not key.startswith("iqwebx_licgen_") and "${" not in str(value)}
    host_vars.update(ansible_connection="meddev.hardening.winsim", winsim_state_dir=str(state),
                     ansible_python_interpreter="{{ ansible_playbook_python }}",
                     firewall_management_networks=["10.10.0.0/24"], molecule_windows_record_dir=str(tmp_path))
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"lrm-miseq-01": host_vars}}}), encoding="utf-8")
    seed = tmp_path / "seed.yml"
    seed.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": [
        {"meddev.hardening.winsim_seed": {"profile": "lrm_instrument"}}]}]), encoding="utf-8")
    rollback = tmp_path / "rollback.yml"
    plays = _without_host_only_tasks(yaml.safe_load((SCENARIO / "side_effect.yml").read_text(encoding="utf-8")))
    rollback.write_text(yaml.safe_dump(plays, sort_keys=False), encoding="utf-8")
    env = _env(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), MEDDEV_REPORT_DIR=str(tmp_path / "reports"))
    for playbook in (seed, SCENARIO / "converge.yml", rollback):
        result = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory), str(playbook)],
                                check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{playbook.name}:\n{result.stdout[-3000:]}{result.stderr[-2000:]}"
    assert "The rollback restored the file" in result.stdout and "Nothing changed" in result.stdout
