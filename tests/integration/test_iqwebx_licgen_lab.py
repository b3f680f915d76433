"""The iQ-WEBX notice automated on the lab: quarantine and artifact restores, order, refusals."""

import hashlib
import pathlib

import pytest

LICGEN = r"C:\Program Files\iQ-WEBX\PACS\php\LicGen.exe"
ARTIFACT = pathlib.Path(__file__).resolve().parents[1] / "fixtures/iqwebx/LicGen-2.2.0.6.bin"
SCAN_RECORD = r"C:\ProgramData\meddev.hardening\iqwebx_licgen\last_scan.json"
SHELL = r"C:\Program Files\iQ-WEBX\PACS\www\upload\cmd.php"
pytestmark = pytest.mark.integration


def licgen(lab, host):
    path = lab.sim(host).windows_path(LICGEN)
    return path.read_bytes() if path.is_file() else None


def test_licgen_back_on_both_hosts_exclusion_first_login_ok_idempotent(radiology):
    result = radiology.playbook("site.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    for host in ("iqwebx-01", "iqwebx-02"):
        assert licgen(radiology, host) == ARTIFACT.read_bytes()
        controls = radiology.controls(host)
        assert controls["IQW-LICGEN"]["status"] == "fixed" and controls["IQW-LOGIN"]["status"] == "fixed"
        # SRC-IQW-2/7: the restore is followed by a custom scan of <install>\PACS in the same apply.
        assert controls["IQW-SCAN"]["status"] == "fixed" and "no threats" in controls["IQW-SCAN"]["actual"]
        assert radiology.sim(host).windows_path(SCAN_RECORD).is_file()
        applies = [c["module"] for c in radiology.calls(host) if c.get("phase") == "apply"]
        assert applies.index("defender_exclusion") < applies.index("iqwebx_licgen")  # exclusion first
    assert "Trojan:Win32/Rundas.B" not in str(radiology.sim("iqwebx-01").read("defender")["quarantine"])
    again = radiology.playbook("site.yml")
    assert "changed=1" not in again.stdout and "changed=2" not in again.stdout, again.stdout


def test_restore_without_exclusion_is_caught_again_so_the_module_adds_it_first(radiology):
    # The role alone (no av_exclusions before it): the module itself adds the exclusion first.
    result = radiology.playbook("site.yml", "-l", "iqwebx-01", extra={"av_exclusions_state": "absent"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert licgen(radiology, "iqwebx-01") is not None
    evidence = radiology.sim("iqwebx-01").windows_path(
        r"C:\ProgramData\meddev.hardening\iqwebx_licgen\evidence.json").read_text()
    steps = [s["step"] for s in __import__("json").loads(evidence)["steps"]]
    assert steps.index("add_exclusion") < steps.index("restore_quarantine")


def test_wrong_hash_artifact_is_refused_and_nothing_copied(radiology):
    bad = {"2.2.0.6": {"path": str(ARTIFACT), "sha256": hashlib.sha256(b"other").hexdigest()}}
    result = radiology.playbook("site.yml", "-l", "iqwebx-02", extra={"iqwebx_licgen_artifacts": bad})
    assert result.returncode != 0
    control = radiology.controls("iqwebx-02")["IQW-LICGEN"]
    assert control["status"] == "failed" and "refused, nothing copied" in control["message"]
    assert licgen(radiology, "iqwebx-02") is None


def test_no_artifact_for_the_version_says_whom_to_ask(radiology):
    result = radiology.playbook("site.yml", "-l", "iqwebx-02", extra={"iqwebx_licgen_artifacts": {}})
    assert result.returncode != 0
    message = radiology.controls("iqwebx-02")["IQW-LICGEN"]["message"]
    assert "2.2.0.6" in message and "distributor" in message and "iqwebx_licgen_artifacts" in message
    assert licgen(radiology, "iqwebx-02") is None


def test_check_mode_changes_nothing(radiology):
    before = {h: radiology.fingerprint(h, include_calls=False) for h in radiology.hosts}
    assert radiology.playbook("site.yml", "--check", "--diff").returncode == 0
    assert {h: radiology.fingerprint(h, include_calls=False) for h in radiology.hosts} == before


def test_threat_found_by_the_post_restore_scan_is_reported_then_scanned_again(radiology):
    sim = radiology.sim("iqwebx-02")
    sim.windows_path(SHELL).parent.mkdir(parents=True, exist_ok=True)
    sim.windows_path(SHELL).write_text("<?php system($_GET['c']); ?>")
    defender = sim.read("defender")
    defender["flagged"] = [{"path": SHELL, "threat": "Backdoor:PHP/Webshell.A"}]
    sim.write("defender", defender)
    result = radiology.playbook("site.yml", "-l", "iqwebx-02")
    assert result.returncode != 0  # a threat found after the restore fails the run
    scan = radiology.controls("iqwebx-02")["IQW-SCAN"]
    assert scan["status"] == "failed" and "1 threat(s) found: Backdoor:PHP/Webshell.A" in scan["actual"], scan
    assert licgen(radiology, "iqwebx-02") == ARTIFACT.read_bytes() and not sim.windows_path(SHELL).exists()
    again = radiology.playbook("site.yml", "-l", "iqwebx-02")  # scanned again: the threat is gone now
    assert again.returncode == 0, again.stdout
    assert radiology.controls("iqwebx-02")["IQW-SCAN"]["status"] == "fixed"


def test_white_page_with_licgen_in_place_is_drift(radiology):
    assert radiology.playbook("site.yml", "-l", "iqwebx-01").returncode == 0
    web = radiology.sim("iqwebx-01").read("web")
    web["http://localhost/iqweb/login"]["body"] = "<html><body></body></html>"  # 200, no login form
    radiology.sim("iqwebx-01").write("web", web)
    result = radiology.playbook("site.yml", "-l", "iqwebx-01", "--check")
    login = radiology.controls("iqwebx-01")["IQW-LOGIN"]
    assert login["status"] == "drift" and "no login form" in login["actual"], (login, result.stdout)
