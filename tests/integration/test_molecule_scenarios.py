"""tests/tools/molecule_scenarios.sh runs one scenario, with the venv's tools, where molecule 26 looks (issue 15).

A stand-in molecule records how it was called (the real scenarios run in `make molecule`).
"""

import os
import pathlib
import stat
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "tools" / "molecule_scenarios.sh"
VENV_BIN = ROOT / ".venv" / "bin"
pytestmark = pytest.mark.integration


@pytest.fixture
def fake_molecule(tmp_path):
    """Records its arguments, and which ansible-config and ansible-playbook it would start."""
    log = tmp_path / "calls.log"
    fake = tmp_path / "molecule"
    fake.write_text('#!/bin/sh\necho "$*|$(command -v ansible-config)|$(command -v ansible-playbook)|$ANSIBLE_CONFIG"'
                    ' >> "$MOLECULE_CALLS"\n', encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return fake, log


def run(*args, env):
    return subprocess.run([str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def bare_env(**extra) -> dict:
    """No activated venv: PATH without .venv/bin, no VIRTUAL_ENV, no ANSIBLE_* settings."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "VIRTUAL_ENV", "MOLECULE_"))}
    return {**keep, "PATH": "/usr/bin:/bin", **extra}


def test_one_scenario_runs_alone_with_the_venvs_tools(fake_molecule):
    fake, log = fake_molecule
    result = run("firewall", env=bare_env(MOLECULE_BIN=str(fake), MOLECULE_CALLS=str(log)))
    assert result.returncode == 0, result.stderr
    (call,) = log.read_text().splitlines()
    tools = f"{VENV_BIN / 'ansible-config'}|{VENV_BIN / 'ansible-playbook'}"
    assert call == f"test -s firewall|{tools}|{ROOT / 'ansible.cfg'}"


def test_an_unknown_scenario_is_refused_naming_the_known_ones(fake_molecule):
    fake, log = fake_molecule
    result = run("firewal", env=bare_env(MOLECULE_BIN=str(fake), MOLECULE_CALLS=str(log)))
    assert result.returncode == 2 and not log.exists()
    assert "no molecule scenario 'firewal'" in result.stderr
    for name in ("av_exclusions", "baseline", "firewall", "iqwebx_licgen", "lrm_patch"):
        assert name in result.stderr


def test_scenarios_are_where_molecule_expects_them_and_it_warns_about_nothing(tmp_path):
    assert not (ROOT / "molecule").exists()  # molecule 26 warns "should migrate to 'extensions/molecule'"
    scenarios = sorted(p.parent.name for p in (ROOT / "extensions" / "molecule").glob("*/molecule.yml"))
    assert scenarios == ["av_exclusions", "baseline", "firewall", "iqwebx_licgen", "lrm_patch", "windows"]
    env = bare_env(PATH=f"{VENV_BIN}:/usr/bin:/bin", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
                   HOME=str(tmp_path))  # no earlier run's scenario state
    listed = subprocess.run([str(VENV_BIN / "molecule"), "list", "--format", "plain"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert listed.returncode == 0, listed.stderr
    assert "WARNING" not in listed.stdout + listed.stderr
    for name in scenarios:
        assert name in listed.stdout
