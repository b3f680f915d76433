"""Issue 14 evidence controls: read in the one gather, judged check-only, never changed (baseline_evidence.py)."""

import pathlib
import re

import pytest
from test_baseline_catalog import catalog

from ansible_collections.meddev.hardening.plugins.module_utils import baseline, winsim
from ansible_collections.meddev.hardening.plugins.modules import baseline as baseline_sim
from ansible_collections.meddev.hardening.plugins.plugin_utils import host_schema, winsim_profiles

ROOT = pathlib.Path(__file__).resolve().parents[2]
PS1 = ROOT / "plugins/modules/baseline.ps1"
SAFER = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\Safer\\CodeIdentifiers"
RULE = SAFER + "\\262144\\Paths\\{0b0b0b0b-1111-2222-3333-444444444444}"  # an Unrestricted path rule
ENABLED = {"enable_BL-PATCH-CURRENCY": True, "enable_BL-TIME-STATUS": True, "baseline_max_update_age_days": 60,
           "baseline_ntp_max_offset_s": 1}
EVIDENCE_IDS = {"BL-SRP-STATE", "BL-PATCH-CURRENCY", "BL-APP-CONTROL", "BL-BITLOCKER-DRIVES", "BL-LOG-FORWARDING",
                "BL-TIME-STATUS", "BL-DICOM-TLS"}


@pytest.fixture
def host(tmp_path):
    return winsim.seed(tmp_path / "h", "lrm_instrument", winsim_profiles.load("lrm_instrument"))


def run(host, products=("illumina_lrm", "philips_mr")):
    desired = baseline.validate({"catalog": catalog(**ENABLED), "products": list(products)})
    registry = [{"path": e.spec["path"], "name": e.spec["name"]} for e in desired.entries
                if e.mechanism in ("registry", "secopt")]
    gathered = baseline_sim.gather(host, {"registry_values": registry, "services": []})
    assert host_schema.check_state("baseline", gathered) == []
    plan = baseline.plan(desired, gathered)
    return {c.id: c for c in plan.controls}, plan


def put(host, domain, data):
    host.write(domain, {**host.read(domain), **data})


def test_evidence_controls_are_reported_and_never_become_changes(host):
    controls, plan = run(host)
    assert EVIDENCE_IDS <= set(controls)
    changed = {c.control for c in plan.changes} | {i for c in plan.changes for i in c.also}
    assert not changed & EVIDENCE_IDS


def clear_srp(host):
    host.write("registry", {k: v for k, v in host.read("registry").items() if "\\Safer\\" not in k})


def test_srp_reports_whether_c_illumina_is_the_exempted_path(host):
    clear_srp(host)  # the lab seed has its own rule
    put(host, "registry", {SAFER: {"DefaultLevel": 0},
                           RULE: {"ItemData": "C:\\Illumina\\"}})
    srp = run(host)[0]["BL-SRP-STATE"]
    assert srp.status == "compliant" and "Disallowed" in srp.actual and "C:\\Illumina" in srp.actual
    put(host, "registry", {RULE: {"ItemData": "D:\\Other"}})
    other = run(host)[0]["BL-SRP-STATE"]
    assert other.status == "manual" and "not the exempted path" in other.message


def test_srp_absent_is_manual_and_only_for_illumina_hosts(host):
    clear_srp(host)
    assert run(host)[0]["BL-SRP-STATE"].status == "manual"
    assert run(host, products=())[0]["BL-SRP-STATE"].status == "not_applicable"


def test_an_old_update_is_drift_a_pending_restart_manual_and_an_unknown_date_manual(host):
    put(host, "clock", {"today": "2026-12-02"})
    put(host, "hotfixes", {"installed_on": "2026-08-01"})
    put(host, "registry", {"HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate": {"WUServer": "http://wsus:8530"}})
    old = run(host)[0]["BL-PATCH-CURRENCY"]
    assert old.status == "drift" and "123 days" in old.actual and "http://wsus:8530" in old.actual
    put(host, "hotfixes", {"installed_on": "2026-11-20"})
    assert run(host)[0]["BL-PATCH-CURRENCY"].status == "compliant"
    put(host, "windows_update", {"reboot_pending": True})
    pending = run(host)[0]["BL-PATCH-CURRENCY"]
    assert pending.status == "manual" and "RebootRequired" in pending.actual
    put(host, "hotfixes", {"installed_on": None})
    assert run(host)[0]["BL-PATCH-CURRENCY"].status == "manual"


def test_application_control_needs_an_enforcing_mechanism(host):
    assert run(host)[0]["BL-APP-CONTROL"].status == "compliant"  # the seed's SRP: default Disallowed
    clear_srp(host)
    assert run(host)[0]["BL-APP-CONTROL"].status == "manual"
    put(host, "app_control", {"applocker": {"Exe": "AuditOnly"}, "wdac": 1})
    audit = run(host)[0]["BL-APP-CONTROL"]
    assert audit.status == "manual" and "Exe AuditOnly" in audit.actual and "WDAC audit" in audit.actual
    put(host, "app_control", {"applocker": {"Exe": "Enabled"}})
    assert run(host)[0]["BL-APP-CONTROL"].status == "compliant"
    put(host, "app_control", {"applocker": {}, "wdac": 0})
    put(host, "services", {"scsrvc": {"Status": "Running", "StartType": "Automatic"}})
    assert run(host)[0]["BL-APP-CONTROL"].status == "compliant"
    put(host, "app_control", {"fails": "Access denied"})
    failed = run(host)[0]["BL-APP-CONTROL"]
    assert failed.status == "manual" and "Access denied" in failed.message


def test_every_fixed_drive_is_judged_not_only_the_system_drive(host):
    host.write("bitlocker", {"C:": {"protection_status": "On", "encryption_method": "XtsAes128"},
                             "D:": {"protection_status": "Off", "encryption_method": "None"}})
    drives = run(host)[0]["BL-BITLOCKER-DRIVES"]
    assert drives.status == "manual" and "D: off None" in drives.actual and "D: not protected" in drives.message
    assert "removable media: write allowed" in drives.actual
    host.write("bitlocker", {"fails": "Invalid namespace"})
    unreadable = run(host)[0]["BL-BITLOCKER-DRIVES"]
    assert unreadable.status == "manual" and "Invalid namespace" in unreadable.message


def test_forwarding_needs_network_service_in_event_log_readers_or_a_running_agent(host):
    manager = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\EventLog\\EventForwarding\\SubscriptionManager"
    assert run(host)[0]["BL-LOG-FORWARDING"].status == "manual"
    put(host, "registry", {manager: {"1": "Server=http://wec:5985/wsman/SubscriptionManager/WEC,Refresh=60"}})
    missing = run(host)[0]["BL-LOG-FORWARDING"]
    assert missing.status == "manual" and "NETWORK SERVICE" in missing.message
    put(host, "local_groups", {"S-1-5-32-573": ["S-1-5-20"]})
    assert run(host)[0]["BL-LOG-FORWARDING"].status == "compliant"
    put(host, "registry", {manager: {}})
    put(host, "services", {"nxlog": {"Status": "Running", "StartType": "Automatic"}})
    agent = run(host)[0]["BL-LOG-FORWARDING"]
    assert agent.status == "compliant" and "nxlog" in agent.actual


@pytest.mark.parametrize("time, status", [
    ({"source": "ntp1.hospital.local", "offset_s": 0.2}, "compliant"),
    ({"source": "ntp1.hospital.local", "offset_s": -4.5}, "drift"),
    ({"source": "Local CMOS Clock", "offset_s": 0.0}, "manual"),
    ({"fails": "The service has not been started. (0x80070426)"}, "manual"),
])
def test_time_offset_beyond_the_limit_is_drift(host, time, status):
    host.write("time", time)
    assert run(host)[0]["BL-TIME-STATUS"].status == status


def test_dicom_tls_is_manual_naming_the_vendor_document(host):
    dicom = run(host)[0]["BL-DICOM-TLS"]
    assert dicom.status == "manual" and "Philips MR release 5" in dicom.message


def test_schannel_protocols_are_set_by_the_one_registry_change(host):
    controls, plan = run(host)
    assert controls["BL-TLS10-SERVER-ENABLED"].status == "drift"
    registry = [c for c in plan.changes if c.kind == "set_registry"]
    written = {(v["path"].rsplit("\\", 2)[-2:][0], v["path"].rsplit("\\", 1)[1], v["name"]): v["value"]
               for v in registry[0].params["values"]}
    assert written[("TLS 1.0", "Server", "Enabled")] == 0 and written[("TLS 1.2", "Client", "DisabledByDefault")] == 0
    assert written[("SSL 3.0", "Client", "DisabledByDefault")] == 1


def test_the_ps1_catches_each_evidence_source_on_its_own():
    text = PS1.read_text(encoding="utf-8")
    for name in ("Get-SrpEvidence", "Get-PatchEvidence", "Get-AppControlEvidence", "Get-FixedDriveBitLocker",
                 "Get-LogForwardingEvidence", "Get-TimeEvidence"):
        body = text[text.index(f"function {name} {{"):]
        body = body[:body.index("\nfunction ", 1)]
        assert re.search(r"catch \{ return @\{ error = ", body), name
    assert "Get-AppLockerPolicy -Effective -Xml" in text and "'DriveType = 3'" in text


MANAGER = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\EventLog\\EventForwarding\\SubscriptionManager"
NTP = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\W32Time\\Parameters"


def set_registry(host, path, name, value):
    baseline_sim.apply_change(host, {"kind": "set_registry",
                                     "values": [{"path": path, "name": name, "type": "string", "value": value}]})


def test_declaring_a_collector_grants_network_service_event_log_readers_in_the_same_apply(host):
    set_registry(host, MANAGER, "1", "Server=http://wec:5985/wsman/SubscriptionManager/WEC,Refresh=60")
    assert host.read("local_groups")["S-1-5-32-573"] == ["S-1-5-20"]
    set_registry(host, MANAGER, "1", "Server=http://wec:5985/wsman/SubscriptionManager/WEC,Refresh=60")
    assert host.read("local_groups")["S-1-5-32-573"] == ["S-1-5-20"]  # added once
    assert run(host)[0]["BL-LOG-FORWARDING"].status == "compliant"


def test_ntp_settings_are_applied_with_w32tm_config_update_only_while_w32time_runs(host):
    set_registry(host, NTP, "NtpServer", "ntp1.hospital.local,0x8")
    assert "config_updates" not in host.read("time")  # stopped/absent: the service reads them when it starts
    put(host, "services", {"W32Time": {"Status": "Running", "StartType": "Manual"}})
    set_registry(host, NTP, "NtpServer", "ntp1.hospital.local,0x8")
    assert host.read("time")["config_updates"] == 1


def test_the_ps1_follows_registry_writes_with_the_group_member_and_w32tm_update():
    text = PS1.read_text(encoding="utf-8")
    body = text[text.index("function Complete-RegistryFollowUp {"):text.index("function Invoke-Change {")]
    assert "Add-LocalGroupMember -SID $group -Member 'S-1-5-20'" in body and "-notcontains 'S-1-5-20'" in body
    assert "@('w32tm.exe', '/config', '/update')" in body and "-eq 'Running'" in body
    assert "Complete-RegistryFollowUp -Paths" in text[text.index("'set_registry' {"):]
