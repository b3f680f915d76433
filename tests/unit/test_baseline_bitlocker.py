"""BL-BITLOCKER when Get-BitLockerVolume cannot be read: the gather goes on, the control is manual."""

import pathlib
import re

import pytest
from test_baseline_catalog import catalog

from ansible_collections.meddev.hardening.plugins.module_utils import baseline, winsim
from ansible_collections.meddev.hardening.plugins.modules import baseline as baseline_sim
from ansible_collections.meddev.hardening.plugins.plugin_utils import winsim_profiles

ROOT = pathlib.Path(__file__).resolve().parents[2]
PS1 = ROOT / "plugins/modules/baseline.ps1"
NO_PROVIDER = "Invalid namespace"  # what the seed says the cmdlet throws; the .ps1 wraps any message


def bitlocker_control(volume: dict):
    gathered = {"hotfixes": [], "os_build": 14393, "bitlocker": volume}
    plan = baseline.plan(baseline.validate({"catalog": catalog()}), gathered)
    assert not [c for c in plan.changes if c.control == "BL-BITLOCKER"]
    return {c.id: c for c in plan.controls}["BL-BITLOCKER"]


def test_an_unreadable_volume_is_manual_with_the_reason_not_reported_as_off():
    control = bitlocker_control({"error": f"Get-BitLockerVolume -MountPoint C: failed: {NO_PROVIDER}"})
    assert control.status == "manual" and control.actual == "unreadable"
    assert "could not be read" in control.message and NO_PROVIDER in control.message


def test_a_readable_volume_is_still_judged_on_protection_and_method():
    assert bitlocker_control({"protection_status": "On", "encryption_method": "XtsAes128"}).status == "compliant"
    off = bitlocker_control({"protection_status": "Off", "encryption_method": "None"})
    assert off.status == "manual" and off.actual == "protection off, None"


@pytest.fixture
def host(tmp_path):
    return winsim.seed(tmp_path / "h", "carestream_imagesuite", winsim_profiles.load("carestream_imagesuite"))


@pytest.mark.parametrize("document, error", [
    ({"fails": NO_PROVIDER}, f"Get-BitLockerVolume -MountPoint C: failed: {NO_PROVIDER}"),
    ({"module": False}, "Get-BitLockerVolume is not available (the BitLocker feature is not installed)"),
    ({}, "Get-BitLockerVolume returned no volume for C:"),
])
def test_the_twin_gathers_everything_else_and_reports_why_bitlocker_is_unreadable(host, document, error):
    host.write("bitlocker", document)
    state = baseline_sim.gather(host, {"registry_values": [], "services": ["RemoteRegistry"]})
    assert state["bitlocker"] == {"error": error}
    assert state["secpol_inf"] and state["auditpol_csv"] and state["services"]  # the gather went on


def test_the_ps1_catches_a_throwing_get_bitlockervolume():
    text = PS1.read_text(encoding="utf-8")
    function = text[text.index("function Get-SystemDriveBitLocker {"):text.index("function Get-BaselineState {")]
    function = "\n".join(line for line in function.splitlines() if not line.lstrip().startswith("#"))
    assert re.search(r"try \{\s+\$volume = Get-BitLockerVolume -MountPoint \$env:SystemDrive -ErrorAction Stop\s+\}\s+"
                     r"catch \{\s+return @\{ error = ", function)
    assert "SilentlyContinue" not in function.replace("Get-Command -Name Get-BitLockerVolume -ErrorAction "
                                                      "SilentlyContinue", "")
    assert "$bitlocker = Get-SystemDriveBitLocker" in text
