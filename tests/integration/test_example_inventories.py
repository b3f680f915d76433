"""The example hospital inventory resolves and connects the safe way (HTTPS 5986, validated)."""

import json
import subprocess

import pytest
from labkit import BIN, ROOT

pytestmark = pytest.mark.integration


VAULT_IDS = [arg for c in ("st_anna", "city_clinic", "north_lab")
             for arg in ("--vault-id", f"{c}@{ROOT / 'tests/fixtures/vault_passwords' / c}.txt")]


def inventory(name, *extra):
    result = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(ROOT / "inventories" / name), *extra, "--list"],
                            cwd=ROOT, capture_output=True, text=True, check=True, timeout=120)
    data = json.loads(result.stdout)
    return data["_meta"]["hostvars"], data


def test_example_hospital_uses_winrm_https_with_validation():
    hostvars, _data = inventory("example_hospital")
    assert len(hostvars) == 5
    for name, host in hostvars.items():
        assert host["ansible_connection"] == "winrm", name
        assert host["ansible_port"] == 5986
        assert host["ansible_winrm_scheme"] == "https"
        assert host["ansible_winrm_server_cert_validation"] == "validate"
        assert host["ansible_password"] == "{{ vault_winrm_password }}"  # noqa: S105 - a vault reference


def test_vendor_locked_hosts_are_audit_only():
    hostvars, data = inventory("example_hospital")
    for name in data["audit_only"]["hosts"]:
        assert hostvars[name]["meddev_enforce"] is False
    assert hostvars["miseq-01.genomics.hospital.example"]["meddev_enforce"] is True


def test_lab_inventory_is_simulated_only():
    hostvars = inventory("lab")[0]
    assert {h["ansible_connection"] for h in hostvars.values()} == {"meddev.hardening.winsim"}


def test_example_distributor_resolves_three_customers_into_groups():
    hostvars, data = inventory("example_distributor", *VAULT_IDS)
    customers = sorted(g for g in data if g.startswith("customer_"))
    assert customers == ["customer_city_clinic", "customer_north_lab", "customer_st_anna"]
    assert sorted(data["audit_only"]["hosts"]) == ["dr-01.st-anna.example", "mr-01.city-clinic.example"]
    assert sorted(data["product_iqwebx"]["hosts"]) == ["pacs-01.st-anna.example", "pacs.city-clinic.example"]
    assert hostvars["pacs.city-clinic.example"]["av_exclusions_iqwebx_scope"] == "folder"
    (network,) = hostvars["iseq-01.north-lab.example"]["firewall_management_networks"]  # set by compose
    assert (network.get("__ansible_unsafe") if isinstance(network, dict) else network) == "10.0.0.0/8"


def test_each_customer_has_its_own_vault():
    hostvars = inventory("example_distributor", *VAULT_IDS)[0]
    assert hostvars["miseq-01.st-anna.example"]["ansible_password"] == "{{ vault_winrm_password }}"  # noqa: S105
    for customer in ("st_anna", "city_clinic", "north_lab"):
        header = (ROOT / f"inventories/example_distributor/group_vars/customer_{customer}/vault.yml").read_text()
        assert header.startswith(f"$ANSIBLE_VAULT;1.2;AES256;{customer}")


def test_a_customer_runs_alone_with_limit():
    result = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(ROOT / "inventories/example_distributor"),
                             str(ROOT / "playbooks/drift.yml"), "--limit", "customer_north_lab", "--list-hosts",
                             *VAULT_IDS], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120)
    hosts = [line.strip() for line in result.stdout.splitlines() if line.startswith("      ")]
    assert hosts == ["iseq-01.north-lab.example"] * 2  # listed per play: the preflight, then the drift check
