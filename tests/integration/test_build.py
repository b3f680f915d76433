"""`ansible-galaxy collection build` gives a tarball that installs and works outside this checkout."""

import subprocess
import sys
import tarfile
import textwrap

import pytest
from labkit import BIN, ROOT

pytestmark = pytest.mark.integration


def run(*cmd, cwd, env):
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_built_collection_installs_and_runs(tmp_path):
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path), "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg"),
           "ANSIBLE_NOCOLOR": "1", "MEDDEV_REPORT_DIR": str(tmp_path / "reports")}
    (tmp_path / "ansible.cfg").write_text(textwrap.dedent(f"""\
        [defaults]
        collections_path = {tmp_path / "installed"}
        callbacks_enabled = meddev.hardening.compliance_report
        """))
    run(str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), str(ROOT),
        cwd=ROOT, env=env)
    tarball = next(tmp_path.glob("meddev-hardening-*.tar.gz"))
    names = tarfile.open(tarball).getnames()
    for expected in ("plugins/modules/firewall_policy.ps1", "plugins/modules/firewall_policy.py",
                     "plugins/connection/winsim.py", "roles/firewall/meta/argument_specs.yml",
                     "tests/fixtures/profiles/lrm_instrument.yml", "playbooks/drift.yml", "MANIFEST.json"):
        assert expected in names
    assert not [n for n in names if n.split("/")[0] in (".venv", ".lab", "reports", "collections", ".git")]

    run(str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-p", str(tmp_path / "installed"),
        str(tarball), cwd=tmp_path, env=env)
    doc = run(str(BIN / "ansible-doc"), "-t", "module", "meddev.hardening.firewall_policy", cwd=tmp_path, env=env)
    assert "lrm_block_web" in doc.stdout

    (tmp_path / "hosts.yml").write_text(textwrap.dedent(f"""\
        all:
          hosts:
            instrument:
              ansible_connection: meddev.hardening.winsim
              ansible_python_interpreter: {sys.executable}
              winsim_state_dir: {tmp_path / "state"}
              meddev_products: [illumina_lrm]
              firewall_management_networks: [10.10.0.0/24]
        """))
    (tmp_path / "play.yml").write_text(textwrap.dedent("""\
        - name: Seed, then enforce the firewall with the installed collection
          hosts: all
          gather_facts: false
          tasks:
            - name: Seed
              meddev.hardening.winsim_seed:
                profile: lrm_instrument
            - name: Firewall
              ansible.builtin.include_role:
                name: meddev.hardening.firewall
        """))
    play = run(str(BIN / "ansible-playbook"), "-i", "hosts.yml", "play.yml", cwd=tmp_path, env=env)
    assert "changed=2" in play.stdout
    assert (tmp_path / "reports" / "latest" / "report.json").is_file()
