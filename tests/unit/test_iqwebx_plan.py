"""iQ-WEBX LicGen.exe planning: the notice's order and refusals, without a host."""

import pytest

from ansible_collections.meddev.hardening.plugins.module_utils import iqwebx
from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError

SHA = "a" * 64
TARGET = r"C:\Program Files\iQ-WEBX\PACS\php\LicGen.exe"


def desired(**args):
    base = {"install_dir": r"C:\Program Files\iQ-WEBX", "login_url": "http://localhost/iqweb/login",
            "evidence_path": r"C:\ProgramData\m\evidence.json", "artifacts": {"2.2.0.6": {"path": "/a", "sha256": SHA}}}
    return iqwebx.validate({**base, **args}, "iqwebx_licgen_", now="2026-11-23T00:00:00Z")


def gathered(**extra):
    return {"iqwebx": {"installed": True, "version": "2.2.0.6", "install_dir": r"C:\Program Files\iQ-WEBX"},
            "exclusions": [], "licgen_present": False, "quarantine": [], "login": {"status": 200, "length": 0},
            "antivirus": {"signature_age_days": 0}, "detections": [], "evidence_text": None, **extra}


def kinds(plan):
    return [c.kind for c in plan.changes]


def test_quarantine_restore_comes_after_the_exclusion():
    plan = iqwebx.plan(desired(), gathered(quarantine=[{"threat": "Trojan:Win32/Rundas.B", "path": TARGET}]))
    assert kinds(plan) == ["add_exclusion", "restore_quarantine", "scan", "write_evidence"]


def test_stale_definitions_are_updated_before_anything_else():
    plan = iqwebx.plan(desired(), gathered(antivirus={"signature_age_days": 9}, quarantine=[{"threat": "x",
                                                                                            "path": TARGET}]))
    assert kinds(plan)[0] == "update_signatures"


def test_verified_artifact_is_copied_wrong_one_refused():
    good = iqwebx.plan(desired(), gathered(), {"sha256": SHA, "content": "TVo="})
    assert kinds(good) == ["add_exclusion", "write_artifact", "scan", "write_evidence"]
    bad = iqwebx.plan(desired(), gathered(), {"sha256": "b" * 64, "content": "TVo="})
    assert "write_artifact" not in kinds(bad)
    licgen = next(c for c in bad.controls if c.id == "IQW-LICGEN")
    assert licgen.status == "failed" and "refused, nothing copied" in licgen.message


def test_folder_exclusion_covers_the_file():
    plan = iqwebx.plan(desired(), gathered(exclusions=[r"%ProgramFiles%\IQ-WEBX\\"], licgen_present=True,
                                           login={"status": 200, "length": 10},
                                           environment={"ProgramFiles": r"C:\Program Files"},
                                           evidence_text='{"time": "x"}'))
    assert plan.changes == ()
    assert next(c for c in plan.controls if c.id == "IQW-EXCLUSION").status == "compliant"


def test_not_installed_is_not_applicable():
    plan = iqwebx.plan(desired(), {"iqwebx": {"installed": False}})
    assert plan.changes == () and plan.controls[0].status == "not_applicable"


def test_pending_restart_is_reported_never_forced():
    plan = iqwebx.plan(desired(), gathered(pending_reboot=True, licgen_present=True))
    restart = next(c for c in plan.controls if c.id == "IQW-RESTART")
    assert restart.status == "manual" and "never restarts" in restart.message
    assert "reboot" not in " ".join(kinds(plan))


@pytest.mark.parametrize(("option", "value", "variable"), [
    ("login_url", "javascript:alert(1)", "iqwebx_licgen_login_url"),
    ("artifacts", {"2.2": {"path": "/a", "sha256": "xyz"}}, "iqwebx_licgen_artifacts['2.2']"),
    ("artifacts", {"latest": {"path": "/a", "sha256": SHA}}, "iqwebx_licgen_artifacts['latest']"),
    ("install_dir", "Program Files", "iqwebx_licgen_install_dir"),
])
def test_bad_input_names_the_variable(option, value, variable):
    with pytest.raises(ArgumentError) as error:
        desired(**{option: value})
    assert error.value.variable == variable


def test_restore_names_the_file_as_the_quarantine_store_lists_it():
    listed = r"c:\program files\iq-webx\PACS\php\licgen.exe"
    plan = iqwebx.plan(desired(), gathered(quarantine=[{"threat": "Trojan:Win32/Rundas.B", "path": listed}]))
    restore = next(c for c in plan.changes if c.kind == "restore_quarantine")
    assert restore.params == {"threat": "Trojan:Win32/Rundas.B", "path": listed}


def test_detection_history_alone_is_not_a_restore():
    plan = iqwebx.plan(desired(), gathered(detections=[{"time": "2017-09-14T08:12:40Z", "threat": "x"}],
                                           quarantine_error="MpCmdRun -Restore -ListAll exit 2: CmdTool: Failed"),
                       {"sha256": SHA, "content": "TVo="})
    assert kinds(plan) == ["add_exclusion", "write_artifact", "scan", "write_evidence"]
    licgen = next(c for c in plan.controls if c.id == "IQW-LICGEN")
    assert "verified artifact" in licgen.message
    refused = iqwebx.plan(desired(artifacts={}), gathered(quarantine_error="MpCmdRun -Restore -ListAll exit 2: x"))
    assert "could not be listed: MpCmdRun -Restore -ListAll exit 2" in next(
        c for c in refused.controls if c.id == "IQW-LICGEN").message


def test_hidden_exclusions_are_manual_and_not_added_again_every_run():
    plan = iqwebx.plan(desired(), gathered(exclusions_hidden=True, licgen_present=True,
                                           login={"status": 200, "length": 10}, evidence_text='{"time": "x"}'))
    assert plan.changes == ()
    control = next(c for c in plan.controls if c.id == "IQW-EXCLUSION")
    assert control.status == "manual" and "HideExclusionsFromLocalAdmins" in control.message


@pytest.mark.parametrize(("key", "value"), [("exclusions", TARGET), ("exclusions", None),
                                            ("quarantine", {"threat": "x", "path": TARGET}), ("detections", "x")])
def test_a_malformed_host_list_is_refused(key, value):
    with pytest.raises(ArgumentError, match=f"host state {key}"):
        iqwebx.plan(desired(), gathered(**{key: value}))
