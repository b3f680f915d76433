"""Secrets never leave the vault: WinRM passwords are absent from -vvvv output, the reports and the hosts.

A lab copy gets a WinRM password the way inventories/example_hospital sets it (``ansible_password``
from an ansible-vault encrypted variable) and a second one in clear text in a file of its own
(``ansible_winrm_password``). drift.yml (fails on the fresh lab: its error paths run too), site.yml
and investigate.yml then run at -vvvv; neither secret may appear anywhere in what they print or write.

Keep clear-text secrets out of files that also hold templated variables: when a template fails
(e.g. no vault password given), ansible-core 2.19 prints the two source lines above it.
"""

from __future__ import annotations

import secrets
import subprocess

import pytest
from integration.labkit import BIN, ROOT, Lab

pytestmark = pytest.mark.integration
HOSTS = ("lrm-miseq-01", "iqwebx-02")  # every role and both investigate modules run on these two


@pytest.fixture
def vaulted_lab(tmp_path):
    """A lab copy whose WinRM credentials are planted in group_vars next to its inventory."""
    lab = Lab(tmp_path, only=HOSTS)
    vault_secret = f"vaulted-{secrets.token_hex(12)}"
    clear_secret = f"clear-{secrets.token_hex(12)}"
    password_file = tmp_path / "vault-password.txt"
    password_file.write_text(secrets.token_hex(16) + "\n")
    encrypted = subprocess.run(
        [str(BIN / "ansible-vault"), "encrypt_string", "--vault-password-file", str(password_file),
         "--name", "vault_winrm_password", vault_secret],
        capture_output=True, text=True, check=True, timeout=120)
    assert "$ANSIBLE_VAULT" in encrypted.stdout and vault_secret not in encrypted.stdout
    group_vars = tmp_path / "group_vars" / "all"
    group_vars.mkdir(parents=True)
    (group_vars / "winrm.yml").write_text(
        encrypted.stdout
        + 'ansible_user: "svc-ansible@HOSPITAL.EXAMPLE"\n'
        + 'ansible_password: "{{ vault_winrm_password }}"\n')
    (group_vars / "legacy.yml").write_text(f"ansible_winrm_password: {clear_secret}\n")
    return lab, password_file, (vault_secret, clear_secret)


def leaks(text: str, planted) -> list:
    return [s for s in planted if s in text]


def test_winrm_passwords_stay_out_of_output_reports_and_hosts(vaulted_lab):
    lab, password_file, planted = vaulted_lab

    # The playbooks need the vaulted password (Ansible resolves ansible_password for every task):
    # without the vault secret they stop before any host is touched.
    locked = lab.playbook("investigate.yml", "-vvvv")
    output = locked.stdout + locked.stderr
    assert locked.returncode != 0 and "no vault secrets" in output
    assert not any(lab.calls(h) for h in HOSTS)
    assert not leaks(output, planted), "the refused run printed a WinRM password"

    for playbook, expected_rc in (("drift.yml", 2), ("site.yml", 0), ("investigate.yml", 0)):
        run = lab.playbook(playbook, "-vvvv", "--vault-password-file", str(password_file))
        text = run.stdout + run.stderr
        assert run.returncode == expected_rc, f"{playbook}: rc {run.returncode}\n{text[-3000:]}"
        assert "ESTABLISH LOCAL CONNECTION" in text  # -vvvv really is on
        assert not leaks(text, planted), f"{playbook} printed a WinRM password"
        output += text

    # The runs reached the hosts with these credentials and did their work there.
    for host in HOSTS:
        modules = {c["module"] for c in lab.calls(host)}
        assert {"firewall_policy", "defender_exclusion", "baseline", "iis_log_scan", "host_evidence"} <= modules
    assert "lrm_patch" in {c["module"] for c in lab.calls("lrm-miseq-01")}
    assert "iqwebx_licgen" in {c["module"] for c in lab.calls("iqwebx-02")}
    assert "control(s) in drift or failed" in output and "FINDINGS" in output  # the gate failed, the scan found

    reports = [p for p in lab.reports.rglob("*") if p.is_file()]
    assert {p.name for p in reports} >= {"report.json", "junit.xml", "report.html"}
    assert len({p.parent for p in reports}) == 4  # one folder per run, the locked one included
    for path in reports + [p for p in (lab.root / "state").rglob("*") if p.is_file()]:
        text = path.read_bytes().decode("utf-8", "replace")
        assert not leaks(text, planted), f"{path.relative_to(lab.root)} holds a WinRM password"


def test_the_search_would_find_a_password_that_is_printed(vaulted_lab):
    """The check above can fail: the same lab, vault and search find the password once something prints it."""
    lab, password_file, planted = vaulted_lab
    shown = subprocess.run(
        [str(BIN / "ansible"), "-i", str(lab.inventory), HOSTS[0], "-m", "ansible.builtin.debug",
         "-a", "var=ansible_password", "--vault-password-file", str(password_file)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False, env=lab.env())
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert leaks(shown.stdout, planted) == [planted[0]]
