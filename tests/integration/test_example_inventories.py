"""The example hospital inventory resolves and connects the safe way (HTTPS 5986, validated)."""

import json
import subprocess

import pytest
from labkit import BIN, ROOT

pytestmark = pytest.mark.integration


def inventory(name):
    result = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(ROOT / "inventories" / name), "--list"],
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
