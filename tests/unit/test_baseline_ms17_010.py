"""BL-MS17-010 by OS build and update revision (UBR), not by the hotfix list.

Windows 10 / Server 2016 updates are cumulative and Get-HotFix lists only the latest one, so a fully
patched host never shows the March 2017 KB: the old check called such hosts unpatched (manual)."""

import pathlib
import re

import pytest
from test_baseline_catalog import catalog

from ansible_collections.meddev.hardening.plugins.module_utils import baseline, winsim
from ansible_collections.meddev.hardening.plugins.modules import baseline as baseline_sim
from ansible_collections.meddev.hardening.plugins.plugin_utils import winsim_profiles

ROOT = pathlib.Path(__file__).resolve().parents[2]
PS1 = ROOT / "plugins/modules/baseline.ps1"
# What Get-HotFix shows on a fully patched Windows 10 LTSB 2016 (February 2024 cumulative update).
PATCHED_LTSB = {"os_build": 14393, "os_ubr": 6709, "hotfixes": ["KB5034767"]}


def ms17_010(gathered: dict, kbs=("KB4012212", "KB4012215")):
    desired = baseline.validate({"catalog": catalog(baseline_ms17_010_kbs=list(kbs))})
    plan = baseline.plan(desired, {"bitlocker": {}, **gathered})
    assert not [c for c in plan.changes if "BL-MS17-010" in c.controls]  # check-only: never a change
    return {c.id: c for c in plan.controls}["BL-MS17-010"]


def test_a_fully_patched_host_without_the_march_2017_kb_is_compliant():
    control = ms17_010(PATCHED_LTSB)
    assert control.status == "compliant", control
    assert control.expected == "build 14393.953 or later (KB4013429)" and control.actual == "14393.6709"


@pytest.mark.parametrize(("build", "ubr", "first"), [(14393, 0, 953), (14393, 952, 953), (10240, 17318, 17319),
                                                     (10586, 838, 839)])
def test_a_build_before_its_first_fixed_cumulative_update_is_drift(build, ubr, first):
    control = ms17_010({"os_build": build, "os_ubr": ubr, "hotfixes": []})
    assert control.status == "drift" and control.actual == f"{build}.{ubr}"
    assert control.expected.startswith(f"build {build}.{first} or later")
    assert "check-only" in control.message


def test_the_first_fixed_revision_itself_is_compliant():
    assert ms17_010({"os_build": 14393, "os_ubr": 953, "hotfixes": []}).status == "compliant"


@pytest.mark.parametrize("build", [15063, 16299, 17763, 19045, 20348, 22631])
def test_builds_released_after_the_fix_are_compliant_whatever_the_hotfix_list(build):
    control = ms17_010({"os_build": build, "os_ubr": 1, "hotfixes": []})
    assert control.status == "compliant" and control.expected == "build 15063 or later (fixed at release)"


@pytest.mark.parametrize("gathered", [
    {"os_build": 0, "os_ubr": None},          # the build could not be read
    {"os_build": None},
    {"os_build": 12000, "os_ubr": 5},         # a Windows 10 build the table does not know
    {"os_build": 2**40, "os_ubr": 1},
    {"os_build": 14393, "os_ubr": None},      # no UBR value: the fix level is unknown
])
def test_an_unknown_build_or_revision_is_manual_never_guessed(gathered):
    control = ms17_010({"hotfixes": ["KB4013429"], **gathered})
    assert control.status == "manual" and control.message


def test_windows_before_10_keeps_the_bulletin_kb_list():
    assert ms17_010({"os_build": 7601, "os_ubr": None, "hotfixes": ["KB4012215"]}).status == "compliant"
    none = ms17_010({"os_build": 7601, "os_ubr": None, "hotfixes": ["KB5000841"]})
    assert none.status == "manual" and "later monthly rollup" in none.message


def test_the_fix_levels_are_catalog_data_with_their_source():
    entry = next(e for e in catalog() if e["id"] == "BL-MS17-010")
    assert {int(k): v["ubr"] for k, v in entry["fixed_in"].items()} == {10240: 17319, 10586: 839, 14393: 953}
    assert entry["fixed_from_build"] == 15063
    text = (ROOT / "roles/baseline/defaults/main/main.yml").read_text()
    assert "ms17-010.md" in text and "KB4013429 (OS Build 14393.953)" in text


@pytest.mark.parametrize(("profile", "revision"), [("carestream_imagesuite", "14393.6709"),
                                                   ("compliant_firewall", "17763.5458")])
def test_the_twin_gathers_build_and_ubr_as_seeded_and_the_seeded_hosts_are_compliant(tmp_path, profile, revision):
    host = winsim.seed(tmp_path / "h", profile, winsim_profiles.load(profile))
    state = baseline_sim.gather(host, {"registry_values": [], "services": []})
    assert f"{state['os_build']}.{state['os_ubr']}" == revision
    control = ms17_010(state)
    assert control.status == "compliant" and control.actual == revision


def test_the_twin_reports_a_missing_ubr_as_null(tmp_path):
    host = winsim.seed(tmp_path / "h", "carestream_imagesuite", winsim_profiles.load("carestream_imagesuite"))
    host.write("hotfixes", {"installed": [], "os_build": 14393})
    assert baseline_sim.gather(host, {"registry_values": [], "services": []})["os_ubr"] is None


def test_the_ps1_reads_build_and_ubr_from_the_currentversion_key_in_the_one_gather():
    text = PS1.read_text(encoding="utf-8")
    function = text[text.index("function Get-OsRevision {"):text.index("function Get-BaselineState {")]
    assert "Get-Item -LiteralPath 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion'" in function
    assert "GetValue('CurrentBuildNumber')" in function and "GetValue('UBR')" in function
    assert not re.search(r"Set-|New-Item|Remove-", function)  # read only
    gather = text[text.index("function Get-BaselineState {"):text.index("function Invoke-Change {")]
    assert "$os = Get-OsRevision" in gather and "os_ubr = $os.ubr" in gather
