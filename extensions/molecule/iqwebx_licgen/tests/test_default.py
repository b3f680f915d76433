"""Verify LicGen.exe is back on both simulated iQ-WEBX servers (testinfra, local backend)."""

import hashlib
import json
import os

testinfra_hosts = ["local://"]

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
SHA = "492c7a0446b554f6edc4987564e3f41041eaeacf394498331f566d96833c70c4"


def c_drive(*parts):
    return os.path.join(EPHEMERAL, parts[0], "fs", "C", *parts[1:])


def test_licgen_restored_byte_exact_on_both(host):
    for name in ("iqwebx-01", "iqwebx-02"):
        data = host.file(c_drive(name, "Program Files", "iQ-WEBX", "PACS", "php", "LicGen.exe")).content
        assert hashlib.sha256(data).hexdigest() == SHA


def test_evidence_recorded(host):
    for name, step in (("iqwebx-01", "restore_quarantine"), ("iqwebx-02", "write_artifact")):
        record = json.loads(host.file(c_drive(name, "ProgramData", "meddev.hardening", "iqwebx_licgen",
                                              "evidence.json")).content_string)
        assert step in [s["step"] for s in record["steps"]] and record["iqx_version"] == "2.2.0.6"
