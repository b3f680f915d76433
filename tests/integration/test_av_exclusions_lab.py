"""The av_exclusions role on the lab's radiology hosts: sources, idempotence, refusal, literal data."""

import json

import pytest

LICGEN = r"C:\Program Files\iQ-WEBX\PACS\php\LicGen.exe"
RECORD = r"C:\ProgramData\meddev.hardening\defender_exclusions.json"
pytestmark = pytest.mark.integration


def test_iqwebx_exclusion_added_with_its_source_and_idempotent(radiology):
    result = radiology.playbook("site.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    for host in ("iqwebx-01", "iqwebx-02"):
        assert radiology.sim(host).read("defender")["exclusions"]["path"] == [LICGEN]
        control = radiology.controls(host)[f"AV-EXCL-PATH:{LICGEN}"]
        assert control["status"] == "fixed" and control["source"] == ["SRC-IQW-9"]
    again = radiology.playbook("site.yml")
    assert "changed=0" in again.stdout and "changed=1" not in again.stdout, again.stdout


def test_directview_host_is_byte_identical_after_apply(radiology):
    before = radiology.fingerprint("cs-directview-01", include_calls=False)
    assert radiology.playbook("site.yml").returncode == 0
    assert radiology.fingerprint("cs-directview-01", include_calls=False) == before
    controls = radiology.controls("cs-directview-01")
    assert controls["AV-SUPPORTED"]["status"] == "not_applicable" and "SRC-CS-6" in controls["AV-SUPPORTED"]["message"]
    modules = {c["module"] for c in radiology.calls("cs-directview-01")}
    assert modules == {"firewall_policy", "defender_exclusion", "baseline"}


def test_hostile_looking_paths_are_literal_data_end_to_end(radiology):
    odd = [r"C:\Data\a;b", r"C:\Data\$(Remove-Item C:\)", r"C:\Data\`whoami`", r"C:\Data\it's here"]
    extra = [{"kind": "path", "value": v, "source": ["SRC-CS-5"]} for v in odd]
    result = radiology.playbook("site.yml", "-l", "iqwebx-01", extra={"av_exclusions_extra": extra})
    assert result.returncode == 0, result.stdout + result.stderr
    stored = radiology.sim("iqwebx-01").read("defender")["exclusions"]["path"]
    assert stored == [*odd, LICGEN] or sorted(stored) == sorted([*odd, LICGEN])
    record = json.loads(radiology.sim("iqwebx-01").windows_path(RECORD).read_text())
    assert {e["value"] for e in record["exclusions"]} == {*odd, LICGEN}
    removed = radiology.playbook("site.yml", "-l", "iqwebx-01",
                                 extra={"av_exclusions_extra": extra, "av_exclusions_state": "absent"})
    assert removed.returncode == 0
    # The odd paths are gone; iqwebx_licgen (later in site.yml) keeps LicGen.exe excluded, as it must.
    assert radiology.sim("iqwebx-01").read("defender")["exclusions"]["path"] == [LICGEN]


def test_newline_or_quote_in_a_path_is_refused_before_the_host(radiology):
    before = radiology.fingerprint("iqwebx-01")
    extra = [{"kind": "path", "value": 'C:\\Data\\x"\ny', "source": ["SRC-CS-5"]}]
    result = radiology.playbook("site.yml", "-l", "iqwebx-01", extra={"av_exclusions_extra": extra})
    assert result.returncode != 0 and "av_exclusions_extra[0].value" in result.stdout
    changed = {k for k, v in radiology.fingerprint("iqwebx-01").items() if before.get(k) != v}
    assert "defender.json" not in changed


def test_exclusions_hidden_from_local_admins_are_manual_and_never_touched(radiology):
    # HideExclusionsFromLocalAdmins: Get-MpPreference shows "N/A: ..." instead of the lists. Defender still
    # applies the LicGen.exe exclusion set earlier; nothing may be added, removed or taken for an exclusion.
    sim = radiology.sim("iqwebx-01")
    registry = sim.read("registry")
    registry["HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender"] = {"HideExclusionsFromLocalAdmins": 1}
    sim.write("registry", registry)
    defender = sim.read("defender")
    defender["exclusions"]["path"] = [LICGEN]
    sim.write("defender", defender)
    result = radiology.playbook("site.yml", "-l", "iqwebx-01")
    assert result.returncode == 0, result.stdout + result.stderr
    assert sim.read("defender")["exclusions"]["path"] == [LICGEN]
    assert not sim.windows_path(RECORD).exists()  # nothing added, so nothing recorded as ours
    controls = radiology.controls("iqwebx-01")
    for cid in (f"AV-EXCL-PATH:{LICGEN}", "IQW-EXCLUSION"):
        assert controls[cid]["status"] == "manual" and "HideExclusionsFromLocalAdmins" in controls[cid]["message"]
    assert controls["IQW-LICGEN"]["status"] == "fixed"  # the exclusion Defender applies let the restore stay
    again = radiology.playbook("site.yml", "-l", "iqwebx-01")
    assert "changed=0" in again.stdout, again.stdout
