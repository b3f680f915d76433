"""iQ-WEBX issue 14: the post-restore scan, the white page itself, iQ-X / iQ-4VIEW, third-party antivirus."""

import json
import pathlib
import re

import pytest

from ansible_collections.meddev.hardening.plugins.module_utils import iqwebx
from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError
from ansible_collections.meddev.hardening.plugins.modules import iqwebx_licgen as twin

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = r"C:\Program Files\iQ-WEBX\PACS\php\LicGen.exe"
PACS = r"C:\Program Files\iQ-WEBX\PACS"
FORM = {"status": 200, "length": 60, "form": True}


def desired(**args):
    base = {"install_dir": r"C:\Program Files\iQ-WEBX", "login_url": "http://localhost/iqweb/login",
            "evidence_path": r"C:\ProgramData\m\evidence.json", "artifacts": {}}
    return iqwebx.validate({**base, **args}, "iqwebx_licgen_", now="2026-12-02T00:00:00Z")


def gathered(**extra):
    return {"iqwebx": {"installed": True, "version": "2.2.0.6", "install_dir": r"C:\Program Files\iQ-WEBX"},
            "exclusions": [TARGET], "licgen_present": True, "quarantine": [], "login": FORM,
            "antivirus": {"signature_age_days": 0}, "detections": [], "evidence_text": '{"time": "x"}',
            "pages": {}, "scan_text": None, "third_party": [], **extra}


def controls(plan):
    return {c.id: c for c in plan.controls}


def record(finished="2026-12-02T10:05:00Z"):
    return json.dumps({"path": PACS, "started": "2026-12-02T10:00:00Z", "finished": finished})


# -- SRC-IQW-4: the white page, iQ-X, iQ-4VIEW ---------------------------------------------------------------

@pytest.mark.parametrize(("login", "actual"), [
    ({"status": 200, "length": 0, "form": False}, "HTTP 200 with 0 bytes"),
    ({"status": 200, "length": 35, "form": False}, "HTTP 200 with 35 bytes, no login form"),
])
def test_http_200_white_page_is_drift_even_with_licgen_in_place(login, actual):
    # Failed before: 200 with any non-empty body counted as loaded; empty was 'failed', not drift.
    login_control = controls(iqwebx.plan(desired(), gathered(login=login)))["IQW-LOGIN"]
    assert login_control.status == "drift" and login_control.actual == actual
    assert "white page" in login_control.message and "SRC-IQW-6" in login_control.message


def test_login_page_with_its_form_is_compliant_and_down_is_failed():
    assert controls(iqwebx.plan(desired(), gathered()))["IQW-LOGIN"].status == "compliant"
    down = controls(iqwebx.plan(desired(), gathered(login={"status": None, "length": 0, "form": False})))
    assert down["IQW-LOGIN"].status == "failed" and "down" in down["IQW-LOGIN"].message


def test_iqx_and_iq4view_checked_only_when_configured():
    plain = controls(iqwebx.plan(desired(), gathered()))
    assert "IQW-IQX" not in plain and "IQW-IQ4VIEW" not in plain
    wanted = desired(iqx_url="http://localhost:8080/iqx", iq4view_url="https://pacs.example/iq4view/")
    assert wanted.pages == (("iqx", "iQ-X", "http://localhost:8080/iqx"),
                            ("iq4view", "iQ-4VIEW", "https://pacs.example/iq4view/"))
    state = gathered(pages={"iqx": {"status": 200, "length": 10},
                            "iq4view": {"status": 503, "length": 0, "error": "Service Unavailable"}})
    found = controls(iqwebx.plan(wanted, state))
    assert found["IQW-IQX"].status == "compliant" and found["IQW-IQX"].source == ("SRC-IQW-4",)
    assert found["IQW-IQ4VIEW"].status == "drift" and "iqwebx_licgen_iq4view_url" in found["IQW-IQ4VIEW"].message
    assert "Service Unavailable" in found["IQW-IQ4VIEW"].message


def test_a_bad_page_url_is_refused_naming_the_variable():
    with pytest.raises(ArgumentError) as error:
        desired(iqx_url="javascript:alert(1)")
    assert error.value.variable == "iqwebx_licgen_iqx_url"


# -- SRC-IQW-2/3/7: the scan after a restore ------------------------------------------------------------------

def test_restore_is_followed_by_a_custom_scan_of_pacs_in_the_same_apply():
    plan = iqwebx.plan(desired(), gathered(licgen_present=False, exclusions=[],
                                           quarantine=[{"threat": "Trojan:Win32/Rundas.B", "path": TARGET}]))
    kinds = [c.kind for c in plan.changes]
    assert kinds.index("restore_quarantine") < kinds.index("scan") < kinds.index("write_evidence")
    scan = next(c for c in plan.changes if c.kind == "scan")
    assert scan.params == {"path": PACS, "record": r"C:\ProgramData\m\last_scan.json"}
    assert controls(plan)["IQW-SCAN"].status == "drift"


def test_no_restore_no_record_no_scan():
    plan = iqwebx.plan(desired(), gathered())
    assert "IQW-SCAN" not in controls(plan) and plan.changes == ()


def test_clean_scan_is_compliant():
    control = controls(iqwebx.plan(desired(), gathered(scan_text=record())))["IQW-SCAN"]
    assert control.status == "compliant" and control.actual == "scanned 2026-12-02T10:05:00Z, no threats"


def test_threats_found_by_the_scan_are_drift_named_and_scanned_again():
    found = {"time": "2026-12-02T10:02:00Z", "threat": "Backdoor:PHP/Webshell.A",
             "resources": [r"file:_C:\Program Files\iQ-WEBX\PACS\www\x.php"]}
    older = {"time": "2017-09-14T08:12:40Z", "threat": "Trojan:Win32/Rundas.B", "resources": [f"file:_{TARGET}"]}
    elsewhere = {"time": "2026-12-02T10:03:00Z", "threat": "Other", "resources": [r"file:_D:\Users\x.exe"]}
    plan = iqwebx.plan(desired(), gathered(scan_text=record(), detections=[older, found, elsewhere]))
    control = controls(plan)["IQW-SCAN"]
    assert control.status == "drift" and "1 threat(s) found: Backdoor:PHP/Webshell.A" in control.actual
    assert r"PACS\www\x.php" in control.actual and "Rundas" not in control.actual and "Defender" in control.message
    assert plan.changes[0].kind == "scan"


def test_unfinished_scan_is_drift_and_runs_again():
    plan = iqwebx.plan(desired(), gathered(scan_text=record(finished=None)))
    assert controls(plan)["IQW-SCAN"].status == "drift" and plan.changes[0].kind == "scan"


def test_restore_without_defender_makes_the_scan_manual():
    plan = iqwebx.plan(desired(artifacts={"2.2.0.6": {"path": "/a", "sha256": "a" * 64}}),
                       gathered(licgen_present=False, antivirus={}), {"sha256": "a" * 64, "content": "TVo="})
    assert controls(plan)["IQW-SCAN"].status == "manual" and "scan" not in [c.kind for c in plan.changes]


# -- third-party antivirus ------------------------------------------------------------------------------------

def test_kaspersky_gets_its_exclusion_and_backup_restore_steps_for_licgen():
    state = gathered(licgen_present=False, antivirus={}, third_party=[{"name": "Kaspersky", "source": "service AVP"}])
    control = controls(iqwebx.plan(desired(), state))["IQW-THIRD-PARTY"]
    assert control.status == "manual" and control.source == ("SRC-IQW-7", "SRC-IQW-9")
    assert "Scan exclusions" in control.message and "Restoring files from Backup" in control.message
    assert control.message.count(TARGET) == 2


def test_mcafee_with_licgen_in_place_gets_only_the_exclusion_steps():
    state = gathered(third_party=[{"name": "McAfee Endpoint Security", "source": "SecurityCenter2"}])
    control = controls(iqwebx.plan(desired(), state))["IQW-THIRD-PARTY"]
    assert "On-Access Scan policy > Exclusions" in control.message and "Quarantine >" not in control.message


# -- the two sides read the page the same way ----------------------------------------------------------------

def test_login_form_pattern_is_the_same_in_the_ps1_and_the_twin():
    ps1 = (ROOT / "plugins/modules/iqwebx_licgen.ps1").read_text()
    assert re.search(r"\$loginForm = '([^']+)'", ps1).group(1) == twin.LOGIN_FORM


@pytest.mark.parametrize(("body", "form"), [("<html><FORM action=x>", True), ("<form>", True), ("<form/>", True),
                                            ("<formula>", False), ("", False), ("<html></html>", False)])
def test_login_form_pattern(body, form):
    assert bool(re.search(twin.LOGIN_FORM, body, re.IGNORECASE)) is form


# -- the twin's Start-MpScan -----------------------------------------------------------------------------------

SCAN_RECORD = r"C:\ProgramData\meddev.hardening\iqwebx_licgen\last_scan.json"
SHELL = r"C:\Program Files\iQ-WEBX\PACS\www\upload\x.php"


def lab_host(tmp_path, **defender_state):
    import copy

    from ansible_collections.meddev.hardening.plugins.module_utils import winsim
    from ansible_collections.meddev.hardening.plugins.plugin_utils import winsim_profiles
    profile = copy.deepcopy(winsim_profiles.load("iqwebx_quarantined"))
    profile["state"]["defender"].update(defender_state)
    profile["files"][SHELL] = "<?php system($_GET['c']); ?>"
    return winsim.seed(tmp_path / "h", "iqwebx_quarantined", profile)


def test_twin_scan_quarantines_what_the_definitions_flag_and_records_start_and_end(tmp_path):
    host = lab_host(tmp_path, flagged=[{"path": SHELL, "threat": "Backdoor:PHP/Webshell.A"}])
    twin.apply_change(host, {"kind": "scan", "path": PACS, "record": SCAN_RECORD})
    assert not host.windows_path(SHELL).exists()
    saved = json.loads(host.windows_path(SCAN_RECORD).read_text())
    assert saved["path"] == PACS and saved["finished"] >= saved["started"]
    params = {"install_dir": r"C:\Program Files\iQ-WEBX", "login_url": "http://localhost/iqweb/login",
              "evidence_path": r"C:\ProgramData\meddev.hardening\iqwebx_licgen\evidence.json", "pages": {},
              "scan_record": SCAN_RECORD, "third_party_services": {}}
    host.windows_path(TARGET).write_bytes(b"MZ")  # restored: the next gather judges the scan
    state = twin.gather(host, params)
    plan = iqwebx.plan(desired(evidence_path=params["evidence_path"]), state)
    assert controls(plan)["IQW-SCAN"].status == "drift" and "Webshell" in controls(plan)["IQW-SCAN"].actual


def test_twin_scan_skips_excluded_files_and_refuses_a_missing_folder(tmp_path):
    host = lab_host(tmp_path, flagged=[{"path": SHELL, "threat": "Backdoor:PHP/Webshell.A"}],
                    exclusions={"path": [PACS], "process": [], "extension": []})
    twin.apply_change(host, {"kind": "scan", "path": PACS, "record": SCAN_RECORD})
    assert host.windows_path(SHELL).exists()
    from ansible_collections.meddev.hardening.plugins.module_utils.winsim import SimError
    with pytest.raises(SimError, match="cannot find path"):
        twin.apply_change(host, {"kind": "scan", "path": r"D:\nowhere", "record": SCAN_RECORD})
