"""The LRM patch role on the simulated instrument PC: apply, idempotence, rollback, safety."""

import hashlib
import json

import pytest

from ansible_collections.meddev.hardening.plugins.modules import lrm_patch as lrm_sim

HOST = "lrm-miseq-01"
APPHOST = r"C:\Windows\System32\inetsrv\config\applicationHost.config"
AUDIT = r"C:\ProgramData\meddev.hardening\lrm_patch\audit.json"
BACKUPS = r"C:\ProgramData\meddev.hardening\backups"
pytestmark = pytest.mark.integration


def output(result):
    return result.stdout + result.stderr


def apphost(lab) -> bytes:
    return lab.sim(HOST).windows_path(APPHOST).read_bytes()


def lrm_files(lab) -> dict:
    """Fingerprint of the host without what the firewall and av_exclusions roles manage."""
    others = ("firewall.json", "defender.json", "defender_exclusions.json", "registry.json", "secpol.json",
              "auditpol.json", "services.json")
    return {k: v for k, v in lab.fingerprint(HOST, include_calls=False).items() if not k.endswith(others)}


def lrm_controls(lab):
    return {k: v for k, v in lab.controls(HOST).items() if k.startswith("LRM-")}


def test_apply_fixes_then_second_apply_is_byte_identical(lab):
    original = apphost(lab)
    assert lab.playbook("site.yml").returncode == 0
    statuses = {k: c["status"] for k, c in lrm_controls(lab).items()}
    assert statuses == {"LRM-REMOTE-BLOCK": "fixed", "LRM-UPLOAD-Uploads": "fixed", "LRM-TLS": "compliant",
                        "LRM-AUDIT": "fixed", "LRM-RESTART": "manual"}  # SRC-LRM-5, lrm_patch_reboot: never
    patched = apphost(lab)
    assert patched != original and b"\r\n" in patched and patched.count(b"\n") == patched.count(b"\r\n")
    audit_before = lab.sim(HOST).windows_path(AUDIT).read_bytes()
    again = lab.playbook("site.yml")
    assert "changed=0" in again.stdout, output(again)
    assert apphost(lab) == patched and lab.sim(HOST).windows_path(AUDIT).read_bytes() == audit_before
    record = json.loads(audit_before)
    assert record["state"] == "applied" and record["lrm_version"] == "3.1.0" and record["site"] == "LRM"
    assert record["files"][APPHOST] == {"before": hashlib.sha256(original).hexdigest(),
                                        "after": hashlib.sha256(patched).hexdigest()}
    # The backup of the original holds the whole IIS configuration: Administrators and SYSTEM only.
    backups = lab.sim(HOST).windows_path(BACKUPS)
    assert [p.name for p in backups.iterdir()]
    assert lrm_sim.readers(lab.sim(HOST), BACKUPS + "\\x") == {"S-1-5-32-544", "S-1-5-18"}


def test_rollback_restores_the_original_bytes_and_warns(lab):
    original = apphost(lab)
    assert lab.playbook("site.yml").returncode == 0
    result = lab.playbook("site.yml", extra={"lrm_patch_state": "absent"})
    assert result.returncode == 0, output(result)
    assert apphost(lab) == original
    assert "patch REMOVED" in output(result) and "reachable from the network again" in output(result)
    assert json.loads(lab.sim(HOST).windows_path(AUDIT).read_text())["state"] == "rolled_back"
    assert "changed=0" in lab.playbook("site.yml", extra={"lrm_patch_state": "absent"}).stdout
    # Repair: present on the rolled-back host patches it again.
    assert lab.playbook("site.yml").returncode == 0
    assert lab.playbook("drift.yml").returncode == 0


def test_check_mode_leaves_every_file_unchanged_and_shows_the_diff(lab):
    before = lab.fingerprint(HOST, include_calls=False)
    result = lab.playbook("site.yml", "--check", "--diff")
    assert result.returncode == 0, output(result)
    assert lab.fingerprint(HOST, include_calls=False) == before
    assert '+        <system.webServer>' in result.stdout
    assert '+                <ipSecurity allowUnlisted="false">' in result.stdout
    assert '+    <location path="LRM/Uploads">' in result.stdout


def test_run_in_progress_defers_and_touches_nothing(lab):
    sim = lab.sim(HOST)
    sim.write("processes", {"running": ["explorer", "RTA"]})
    before = lrm_files(lab)
    busy = {"lrm_patch_busy_processes": ["RTA"]}  # declared per site: no default names
    assert lab.playbook("site.yml", extra=busy).returncode == 0
    lrm = lrm_controls(lab)
    assert lrm["LRM-REMOTE-BLOCK"]["status"] == "deferred" and "RTA" in lrm["LRM-REMOTE-BLOCK"]["message"]
    assert lrm_files(lab) == before  # the other roles ran; IIS and the audit record untouched
    forced = lab.playbook("site.yml", extra={**busy, "lrm_patch_force": True})
    assert forced.returncode == 0 and lrm_controls(lab)["LRM-REMOTE-BLOCK"]["status"] == "fixed"


def test_without_ip_security_the_site_is_bound_to_loopback(lab):
    sim = lab.sim(HOST)
    sim.write("features", {"IIS-WebServer": True, "IIS-IPSecurity": False})
    assert lab.playbook("site.yml").returncode == 0
    text = apphost(lab).decode()
    assert 'bindingInformation="127.0.0.1:80:"' in text and 'bindingInformation="127.0.0.1:443:"' in text
    assert 'bindingInformation="*:8080:"' in text  # the other site is not touched
    control = lrm_controls(lab)["LRM-REMOTE-BLOCK"]
    assert "loopback_bindings" in control["expected"] and "SRC-LRM-9" in control["message"]
    assert lab.playbook("drift.yml").returncode == 0


def test_install_ip_security_option_installs_the_feature(lab):
    lab.sim(HOST).write("features", {"IIS-WebServer": True, "IIS-IPSecurity": False})
    assert lab.playbook("site.yml", extra={"lrm_patch_install_ip_security": True}).returncode == 0
    assert lab.sim(HOST).read("features")["IIS-IPSecurity"] is True  # a workstation: the DISM name
    assert b'allowUnlisted="false"' in apphost(lab)


def test_host_without_lrm_is_not_applicable_and_untouched(lab):
    sim = lab.sim(HOST)
    sim.write("registry", {})
    before = lrm_files(lab)
    assert lab.playbook("site.yml").returncode == 0
    assert {c["status"] for c in lrm_controls(lab).values()} == {"not_applicable"}
    assert lrm_files(lab) == before


def test_corrupt_config_is_refused_and_left_alone(lab):
    target = lab.sim(HOST).windows_path(APPHOST)
    target.write_bytes(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///c:/windows/win.ini">]>'
                       b"<configuration>&e;</configuration>")
    before = lrm_files(lab)
    result = lab.playbook("site.yml")
    assert result.returncode != 0
    assert lrm_controls(lab)["LRM-CONFIG"]["status"] == "failed"
    assert "DTDs and entity declarations are refused" in output(result)
    assert lrm_files(lab) == before


def test_site_found_by_its_folder_whatever_its_name(lab):
    target = lab.sim(HOST).windows_path(APPHOST)
    target.write_bytes(target.read_bytes().replace(b'name="LRM"', b'name="Illumina Web"'))
    assert lab.playbook("site.yml").returncode == 0
    assert b'<location path="Illumina Web">' in apphost(lab)
    # One gather and one apply for the patch; the report's round trips are calls.log's module executions.
    assert [c["phase"] for c in lab.calls(HOST, "lrm_patch")] == ["gather", "apply"]
    assert lab.latest_report()["hosts"][HOST]["round_trips"] == len(lab.calls(HOST))
