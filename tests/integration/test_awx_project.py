"""examples/awx_project works the way AWX uses it: project sync installs the pinned collection from
collections/requirements.yml, then job templates run the wrapper playbooks from the project folder."""

import json
import shutil
import subprocess
import sys
import textwrap

import pytest
import yaml
from labkit import BIN, ROOT

pytestmark = pytest.mark.integration
PROJECT = ROOT / "examples" / "awx_project"


def run(*cmd, cwd, env, ok=True):
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    if ok:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_requirements_pin_this_collection_version():
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    wanted = yaml.safe_load((PROJECT / "collections" / "requirements.yml").read_text())["collections"]
    this = (f"{galaxy['namespace']}.{galaxy['name']}", galaxy["version"])
    assert [(c["name"], c["version"]) for c in wanted] == [this]


def test_project_sync_then_apply_and_drift_job_templates(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    installed = tmp_path / "installed"
    # Only the installed copy may resolve meddev.hardening: no ansible.cfg from this checkout.
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_COLLECTIONS_PATH": str(installed),
           "ANSIBLE_CALLBACKS_ENABLED": "meddev.hardening.compliance_report",
           "MEDDEV_REPORT_DIR": str(tmp_path / "reports")}
    run(str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), str(ROOT),
        cwd=ROOT, env=env)
    tarball = next(tmp_path.glob("meddev-hardening-*.tar.gz"))
    # Project sync, with the requirement's source pointed at the tarball (no artifact server here).
    requirements = yaml.safe_load((project / "collections" / "requirements.yml").read_text())
    requirements["collections"][0].update(type="file", source=str(tarball))
    (tmp_path / "requirements.yml").write_text(yaml.safe_dump(requirements))
    run(str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-r", str(tmp_path / "requirements.yml"),
        "-p", str(installed), cwd=project, env=env)

    (project / "hosts.yml").write_text(textwrap.dedent(f"""\
        all:
          hosts:
            ws-01:
              ansible_connection: meddev.hardening.winsim
              ansible_python_interpreter: {sys.executable}
              winsim_state_dir: {tmp_path / "state"}
              meddev_products: [carestream_imagesuite]
        """))
    seed = tmp_path / "seed.yml"
    seed.write_text(textwrap.dedent("""\
        - name: Seed the simulated workstation
          hosts: all
          gather_facts: false
          tasks:
            - name: Seed
              meddev.hardening.winsim_seed:
                profile: carestream_imagesuite
        """))
    run(str(BIN / "ansible-playbook"), "-i", "hosts.yml", str(seed), cwd=project, env=env)

    before = run(str(BIN / "ansible-playbook"), "-i", "hosts.yml", "drift.yml", cwd=project, env=env, ok=False)
    assert before.returncode != 0 and "in drift or failed" in before.stdout
    apply = run(str(BIN / "ansible-playbook"), "-i", "hosts.yml", "apply.yml", cwd=project, env=env)
    assert "ws-01" in apply.stdout and "failed=0" in apply.stdout
    run(str(BIN / "ansible-playbook"), "-i", "hosts.yml", "drift.yml", cwd=project, env=env)
    report = json.loads((tmp_path / "reports" / "latest" / "report.json").read_text())
    assert report["mode"] == "check" and report["summary"]["drift"] == 0 and report["summary"]["failed"] == 0
    assert report["hosts"]["ws-01"]["controls"]
