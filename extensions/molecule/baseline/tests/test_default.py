"""Verify the baseline on the simulated hosts (testinfra, local backend)."""

import json
import os

testinfra_hosts = ["local://"]

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]


def state(host, name, domain):
    return json.loads(host.file(os.path.join(EPHEMERAL, name, f"{domain}.json")).content_string)


def test_password_and_lockout_policy(host):
    access = state(host, "cs-imagesuite-01", "secpol")["System Access"]
    assert access["PasswordHistorySize"] == "24" and access["MinimumPasswordLength"] == "14"
    assert int(access["ResetLockoutCount"]) <= int(access["LockoutDuration"])


def test_registry_hardening(host):
    registry = state(host, "cs-imagesuite-01", "registry")
    policies = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\"
    assert registry[policies + "Explorer"]["NoDriveTypeAutoRun"] == 255
    assert registry[policies + "System"]["InactivityTimeoutSecs"] == 900
    assert registry["HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters"]["SMB1"] == 0


def test_services_and_winrm(host):
    services = state(host, "cs-imagesuite-01", "services")
    assert services["RemoteRegistry"]["StartType"] == "Disabled"
    assert services["WinRM"] == {"Status": "Running", "StartType": "Automatic"}


def test_audit_only_console_untouched(host):
    calls = host.file(os.path.join(EPHEMERAL, "philips-mr-01", "calls.log")).content_string
    assert '"phase": "apply"' not in calls
    assert state(host, "philips-mr-01", "secpol")["System Access"]["PasswordHistorySize"] == "10"
