"""Verify the simulated instrument PC after the LRM patch (testinfra, local backend)."""

import json
import os
import xml.etree.ElementTree as ET

testinfra_hosts = ["local://"]

STATE = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "lrm-miseq-01", "fs", "C")
APPHOST = os.path.join(STATE, "Windows", "System32", "inetsrv", "config", "applicationHost.config")


def config(host):
    return ET.fromstring(host.file(APPHOST).content)  # noqa: S314


def location(host, path):
    return next(loc for loc in config(host).findall("location") if loc.get("path") == path)


def test_remote_clients_are_denied_and_loopback_allowed(host):
    ip = location(host, "LRM").find("system.webServer/security/ipSecurity")
    assert ip.get("allowUnlisted") == "false"
    allowed = {a.get("ipAddress") for a in ip.findall("add") if a.get("allowed") == "true"}
    assert allowed == {"127.0.0.1", "::1"}


def test_uploads_cannot_execute(host):
    web = location(host, "LRM/Uploads").find("system.webServer")
    assert web.find("handlers").get("accessPolicy") == "Read"
    denied = {a.get("fileExtension") for a in web.findall("security/requestFiltering/fileExtensions/add")
              if a.get("allowed") == "false"}
    assert {".asp", ".aspx", ".exe", ".ps1"} <= denied


def test_other_site_untouched(host):
    assert not [loc for loc in config(host).findall("location") if loc.get("path", "").startswith("Default")]


def test_audit_record_present(host):
    audit = host.file(os.path.join(STATE, "ProgramData", "meddev.hardening", "lrm_patch", "audit.json"))
    record = json.loads(audit.content_string)
    assert record["state"] == "applied" and record["site"] == "LRM" and record["lrm_version"] == "3.1.0"


def test_original_backed_up_byte_exact(host):
    backups = os.path.join(STATE, "ProgramData", "meddev.hardening", "backups")
    names = host.file(backups).listdir()
    assert len(names) == 1 and names[0].startswith("applicationHost.config.")
    seeded = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "lrm-miseq-01.seeded-applicationHost.config")
    assert host.file(os.path.join(backups, names[0])).content == host.file(seeded).content
