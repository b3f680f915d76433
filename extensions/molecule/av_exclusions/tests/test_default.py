"""Verify Defender exclusions on the simulated hosts (testinfra, local backend)."""

import json
import os

testinfra_hosts = ["local://"]

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]


def defender(host, name):
    return json.loads(host.file(os.path.join(EPHEMERAL, name, "defender.json")).content_string)


def test_iqwebx_licgen_is_excluded(host):
    assert defender(host, "iqwebx-01")["exclusions"]["path"] == [r"C:\Program Files\iQ-WEBX\PACS\php\LicGen.exe"]


def test_illumina_folder_is_not_an_antivirus_exclusion(host):
    # SRC-LRM-6 names C:\Illumina as the Software Restriction Policy's exempted folder, not a Defender exclusion.
    assert defender(host, "lrm-miseq-01")["exclusions"]["path"] == []


def test_ownership_is_recorded(host):
    record = os.path.join(EPHEMERAL, "iqwebx-01", "fs", "C", "ProgramData", "meddev.hardening",
                          "defender_exclusions.json")
    assert json.loads(host.file(record).content_string)["exclusions"] == [
        {"kind": "path", "value": r"C:\Program Files\iQ-WEBX\PACS\php\LicGen.exe"}]


def test_directview_untouched(host):
    assert defender(host, "cs-directview-01") == {"available": False}
    calls = host.file(os.path.join(EPHEMERAL, "cs-directview-01", "calls.log")).content_string
    assert '"phase": "apply"' not in calls
