"""The Defender-family twins (winsim side) behave as Windows does where the .ps1 relies on it, and the .ps1
text keeps the forms the twins model: quarantine store vs detection history, MpCmdRun's documented
-Restore grammar, exclusion lists hidden from local administrators, a passive or disabled Defender."""

import copy
import pathlib
import re

import pytest

from ansible_collections.meddev.hardening.plugins.module_utils import defender, evidence, iqwebx, winsim
from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError
from ansible_collections.meddev.hardening.plugins.modules import defender_exclusion as exclusion_sim
from ansible_collections.meddev.hardening.plugins.modules import host_evidence as evidence_sim
from ansible_collections.meddev.hardening.plugins.modules import iqwebx_licgen as licgen_sim
from ansible_collections.meddev.hardening.plugins.plugin_utils import winsim_profiles

MODULES = pathlib.Path(__file__).resolve().parents[2] / "plugins" / "modules"
LICGEN = r"C:\Program Files\iQ-WEBX\PACS\php\LicGen.exe"
FOLDER = r"C:\Program Files\iQ-WEBX\PACS\php"
THREAT = "Trojan:Win32/Rundas.B"
HIDE = {winsim.DEFENDER_POLICY: {"HideExclusionsFromLocalAdmins": 1}}
LICGEN_PARAMS = {"install_dir": r"C:\Program Files\iQ-WEBX", "login_url": "http://localhost/iqweb/login",
                 "evidence_path": r"C:\ProgramData\meddev.hardening\iqwebx_licgen\evidence.json", "pages": {},
                 "scan_record": r"C:\ProgramData\meddev.hardening\iqwebx_licgen\last_scan.json",
                 "third_party_services": defender.THIRD_PARTY_SERVICES}


def seeded(tmp_path, name, registry=None, **defender_state):
    profile = copy.deepcopy(winsim_profiles.load(name))
    profile["state"].setdefault("defender", {}).update(defender_state)
    profile["state"].setdefault("registry", {}).update(registry or {})
    return winsim.seed(tmp_path / name, name, profile)


def ps1(name: str) -> str:
    return (MODULES / f"{name}.ps1").read_text(encoding="utf-8")


# -- quarantine store and MpCmdRun -Restore -----------------------------------------------------------------------

def test_history_without_quarantine_is_not_restorable(tmp_path):
    host = seeded(tmp_path, "iqwebx_deleted")
    state = licgen_sim.gather(host, LICGEN_PARAMS)
    assert [d["threat"] for d in state["detections"]] == [THREAT]  # in the history...
    assert state["quarantine"] == [] and state["quarantine_error"] is None  # ...but not in the store
    with pytest.raises(winsim.SimError, match="did not bring back"):
        licgen_sim.apply_change(host, {"kind": "restore_quarantine", "threat": THREAT, "path": LICGEN})
    assert not host.windows_path(LICGEN).exists()


def test_the_store_is_listed_by_mpcmdrun_and_parsed_as_the_ps1_does(tmp_path):
    host = seeded(tmp_path, "iqwebx_quarantined")
    rc, listing = licgen_sim.mpcmdrun(host, ["-Restore", "-ListAll"])
    assert rc == 0 and f"ThreatName = {THREAT}" in listing and f"file:{LICGEN} quarantined at " in listing
    assert licgen_sim.gather(host, LICGEN_PARAMS)["quarantine"] == [{"threat": THREAT, "path": LICGEN}]


@pytest.mark.parametrize("argv", [
    ["-Restore", "-Name", THREAT, "-FilePath", FOLDER],  # the old command: -Name and -FilePath are alternatives
    ["-Restore", "-FilePath", FOLDER],  # -FilePath names the quarantined file, not its folder
    ["-Restore", "-Name", "Trojan:Win32/Other"],
    ["-Restore", "-ListAll", "-FilePath", LICGEN],
    ["-Restore", "-FilePath"],
    ["-Restore"],
])
def test_restore_outside_the_documented_grammar_restores_nothing(tmp_path, argv):
    host = seeded(tmp_path, "iqwebx_quarantined", exclusions={"path": [LICGEN]})
    rc, _output = licgen_sim.mpcmdrun(host, argv)
    assert rc != 0
    assert not host.windows_path(LICGEN).exists() and len(host.read("defender")["quarantine"]) == 1


def test_restore_by_file_path_brings_the_file_back_and_it_leaves_the_store(tmp_path):
    host = seeded(tmp_path, "iqwebx_quarantined", exclusions={"path": [FOLDER + "\\"]})  # a folder covers the file
    licgen_sim.apply_change(host, {"kind": "restore_quarantine", "threat": THREAT, "path": LICGEN})
    stored = host.windows_path(r"C:\ProgramData\Microsoft\Windows Defender\Quarantine\ResourceData\5A\5A3F9C0E21D4B7A8")
    assert host.windows_path(LICGEN).read_bytes() == stored.read_bytes()
    state = licgen_sim.gather(host, LICGEN_PARAMS)
    assert state["quarantine"] == [] and state["licgen_present"]
    assert len(state["detections"]) == 1  # the history keeps the old detection


def test_restore_without_exclusion_is_caught_again(tmp_path):
    host = seeded(tmp_path, "iqwebx_quarantined")
    with pytest.raises(winsim.SimError, match="did not bring back"):
        licgen_sim.apply_change(host, {"kind": "restore_quarantine", "threat": THREAT, "path": LICGEN})
    state = licgen_sim.gather(host, LICGEN_PARAMS)
    assert state["quarantine"] == [{"threat": THREAT, "path": LICGEN}] and len(state["detections"]) == 2


def test_the_planned_restore_runs_on_the_twin(tmp_path):
    host = seeded(tmp_path, "iqwebx_quarantined")
    desired = iqwebx.validate({**LICGEN_PARAMS, "artifacts": {}}, "iqwebx_licgen_", now="2026-12-01T00:00:00Z")
    plan = iqwebx.plan(desired, licgen_sim.gather(host, LICGEN_PARAMS))
    for change in plan.changes:
        licgen_sim.apply_change(host, change.as_host_dict())
    after = iqwebx.plan(desired, licgen_sim.gather(host, LICGEN_PARAMS))
    assert {c.id: c.status for c in after.controls}["IQW-LICGEN"] == "compliant"


def test_ps1_restores_with_the_documented_grammar_the_twin_models():
    """The MpCmdRun arguments iqwebx_licgen.ps1 passes for a restore are the twin's restore_arguments()."""
    text = ps1("iqwebx_licgen")
    block = text[text.index("'restore_quarantine' {"):]
    argv = re.search(r"Argv-ToString -arguments @\(\$mpCmdRun, (.*?)\)\n", block).group(1)
    change = {"kind": "restore_quarantine", "threat": THREAT, "path": LICGEN}
    tokens = []
    for token in (t.strip() for t in argv.split(",")):
        literal = re.fullmatch(r"'([^']*)'", token)
        field = re.fullmatch(r"\$Change\.(\w+)", token)
        assert literal or field, f"restore argument {token} is neither a literal nor a field of the change"
        tokens.append(literal.group(1) if literal else change[field.group(1)])
    assert tokens == licgen_sim.restore_arguments(change)


def test_ps1_lists_the_store_and_parses_it_with_the_twins_patterns():
    text = ps1("iqwebx_licgen")
    assert "Argv-ToString -arguments @($mpCmdRun, '-Restore', '-ListAll')" in text
    assert f"$quarantineThreatLine = '{licgen_sim.QUARANTINE_THREAT_LINE}'" in text
    assert f"$quarantineFileLine = '{licgen_sim.QUARANTINE_FILE_LINE}'" in text
    # The quarantine comes from the store listing, never from the detection history (whose Resources only say
    # what a post-restore scan found).
    assert "$state.quarantine = @($store.items)" in text
    assert [line.strip() for line in text.splitlines() if "Resources" in line and not line.strip().startswith("#")] \
        == ["resources = @($item.Resources | Where-Object { $_ } | ForEach-Object { [string]$_ })"]


@pytest.mark.parametrize("name", ["iqwebx_licgen", "host_evidence", "defender_exclusion"])
def test_ps1_formats_dates_with_the_invariant_culture(name):
    # ToString('yyyy-MM-ddTHH:mm:ss') alone uses the host culture's time separator in place of ':'.
    for call in re.findall(r"\.ToString\(([^()]*(?:\([^()]*\))?[^()]*)\)", ps1(name)):
        if "yyyy" in call:
            assert "nvariant" in call, f"{name}.ps1: culture-dependent ToString({call})"


# -- exclusion lists hidden from local administrators --------------------------------------------------------------

def test_hidden_lists_show_a_placeholder_and_the_twins_report_them_hidden(tmp_path):
    host = seeded(tmp_path, "iqwebx_quarantined", registry=HIDE, exclusions={"path": [LICGEN]})
    assert winsim.defender_exclusion_lists(host)["path"] == [winsim.HIDDEN_EXCLUSIONS_TEXT]
    state = exclusion_sim.gather(host, {"owner_record": r"C:\ProgramData\x.json", "third_party_services": {}})
    assert state["exclusions_hidden"] and state["exclusions"] == {"path": [], "process": [], "extension": []}
    licgen = licgen_sim.gather(host, LICGEN_PARAMS)
    assert licgen["exclusions_hidden"] and licgen["exclusions"] == []


def test_hidden_lists_on_a_seeded_host_plan_nothing_and_say_why(tmp_path):
    host = seeded(tmp_path, "iqwebx_quarantined", registry=HIDE)
    state = exclusion_sim.gather(host, {"owner_record": r"C:\ProgramData\x.json", "third_party_services": {}})
    desired = defender.validate({"owner_record": r"C:\ProgramData\x.json",
                                 "exclusions": [{"kind": "path", "value": LICGEN, "source": ["SRC-IQW-9"]}]})
    plan = defender.plan(desired, state)
    assert plan.changes == ()
    assert {c.id: c.status for c in plan.controls}[f"AV-EXCL-PATH:{LICGEN}"] == "manual"
    licgen = iqwebx.plan(iqwebx.validate({**LICGEN_PARAMS, "artifacts": {}}, now="x"),
                         licgen_sim.gather(host, LICGEN_PARAMS))
    assert "add_exclusion" not in [c.kind for c in licgen.changes]
    assert {c.id: c.status for c in licgen.controls}["IQW-EXCLUSION"] == "manual"


@pytest.mark.parametrize("name", ["defender_exclusion", "iqwebx_licgen"])
def test_ps1_placeholder_pattern_is_the_planners(name):
    assert f"$hiddenPlaceholder = '{defender.PLACEHOLDER.pattern}'" in ps1(name)
    assert defender.is_placeholder(winsim.HIDDEN_EXCLUSIONS_TEXT)
    assert defender.is_placeholder("N/A: Administrators are not allowed to view exclusions")


# -- arrays from functions, spec choices -------------------------------------------------------------------------

def test_ps1_wraps_the_policy_exclusions_in_an_array():
    """Get-PolicyExclusion returns through the pipeline: 0 values are $null, 1 value a bare string,
    unless the call is wrapped in @()."""
    calls = re.findall(r"(.{2})Get-PolicyExclusion -Key", ps1("defender_exclusion"))
    assert calls and all(before == "@(" for before in calls)


@pytest.mark.parametrize("name", ["defender_exclusion", "iqwebx_licgen", "host_evidence"])
def test_ps1_spec_choices_are_arrays(name):
    # Ansible.Basic validates choices as List<object>: a lone string fails every call.
    choices = re.findall(r"choices = ([^;}]+)", ps1(name))
    assert choices and all(c.strip().startswith("@(") for c in choices), choices


# -- host_evidence: Defender off or passive ----------------------------------------------------------------------

@pytest.mark.parametrize(("defender_state", "mode"), [
    ({"running_mode": "Passive Mode"}, "Passive Mode"),
    ({"running_mode": "EDR Block Mode"}, "EDR Block Mode"),
    ({"available": False}, None),
])
def test_passive_or_disabled_defender_is_not_evidence_of_no_detections(tmp_path, defender_state, mode):
    host = seeded(tmp_path, "lrm_instrument", detections=[], **defender_state)
    state = evidence_sim.gather(host, {"queries": [], "since": "", "max_events": 10})
    assert state["defender"]["available"] is False and state["defender"]["running_mode"] == mode
    (control, _events), _findings = evidence.controls_and_findings(state)
    assert control.id == "IR-DEFENDER" and control.status == "manual"
    assert (mode or "turned off") in control.message


def test_active_defender_without_detections_is_compliant(tmp_path):
    host = seeded(tmp_path, "lrm_instrument", detections=[])
    state = evidence_sim.gather(host, {"queries": [], "since": "", "max_events": 10})
    assert state["defender"] == {"available": True, "running_mode": "Normal", "detections": []}
    assert evidence.controls_and_findings(state)[0][0].status == "compliant"


def test_ps1_requires_the_service_enabled_and_normal_mode():
    text = ps1("host_evidence")
    assert "$status.AMServiceEnabled" in text
    assert "$defender.available = ($defender.running_mode -eq 'Normal')" in text


@pytest.mark.parametrize("detections", ["x", None, [{"time": "t"}, "x"]])
def test_evidence_refuses_a_malformed_detection_list(detections):
    with pytest.raises(ArgumentError, match=r"host state defender\.detections"):
        evidence.controls_and_findings({"defender": {"available": True, "detections": detections}, "events": []})


# -- the install as both sides find it ----------------------------------------------------------------------------

def test_a_pacs_folder_without_an_uninstall_entry_is_an_install_of_unknown_version(tmp_path):
    """iqwebx_licgen.ps1 falls back on <install_dir>\\PACS when no uninstall entry names iQ-WEBX/iQ-X."""
    profile = copy.deepcopy(winsim_profiles.load("iqwebx_deleted"))
    profile["state"]["registry"] = {key: value for key, value in profile["state"].get("registry", {}).items()
                                    if "uninstall" not in key.lower()}
    host = winsim.seed(tmp_path / "h", "iqwebx_deleted", profile)
    assert licgen_sim.gather(host, LICGEN_PARAMS)["iqwebx"] == {
        "installed": True, "version": None, "install_dir": LICGEN_PARAMS["install_dir"]}
    assert "if ($entry.DisplayVersion) { $version = [string]$entry.DisplayVersion }" in ps1("iqwebx_licgen")


def test_signature_age_is_always_a_number_as_ps1_int_makes_it(tmp_path):
    host = seeded(tmp_path, "iqwebx_deleted", signature_age_days=None)
    assert licgen_sim.gather(host, LICGEN_PARAMS)["antivirus"] == {"signature_age_days": 0}
