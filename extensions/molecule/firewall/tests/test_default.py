"""Verify the simulated host's firewall state after converge (testinfra, local backend)."""

import json
import os

testinfra_hosts = ["local://"]

STATE = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "lrm-miseq-01")


def firewall(host):
    return json.loads(host.file(os.path.join(STATE, "firewall.json")).content_string)


def test_every_profile_is_enabled(host):
    assert {name: p["Enabled"] for name, p in firewall(host)["profiles"].items()} == {
        "Domain": True, "Private": True, "Public": True}


def test_lrm_web_ports_are_blocked_inbound(host):
    rules = {r["Name"]: r for r in firewall(host)["rules"]}
    for name, port in (("lrm-block-http", "80"), ("lrm-block-https", "443")):
        rule = rules[name]
        assert (rule["Action"], rule["Direction"], rule["LocalPort"], rule["Enabled"]) == (
            "Block", "Inbound", [port], True)
        assert rule["Group"] == "meddev.hardening"


def test_dicom_is_scoped_to_the_modality_vlan(host):
    rule = next(r for r in firewall(host)["rules"] if r["Name"] == "dicom-from-modalities")
    assert rule["RemoteAddress"] == ["10.20.30.0/255.255.255.0"]
    assert rule["Action"] == "Allow" and rule["LocalPort"] == ["104"]


def test_winrm_stays_reachable(host):
    rules = firewall(host)["rules"]
    winrm = [r for r in rules if r["Action"] == "Allow" and "5985" in r["LocalPort"] and r["Enabled"]]
    assert any(r["Name"] == "mgmt-winrm" for r in winrm)
    assert not [r for r in rules if r["Action"] == "Block" and {"5985", "5986", "Any"} & set(r["LocalPort"])]


def test_windows_own_rules_were_not_touched(host):
    names = {r["Name"] for r in firewall(host)["rules"] if r["Group"] != "meddev.hardening"}
    assert names == {"WINRM-HTTP-In-TCP", "WINRM-HTTP-In-TCP-PUBLIC", "IIS-WebServerRole-HTTP-In-TCP",
                     "IIS-WebServerRole-HTTPS-In-TCP"}


def test_round_trips_were_counted(host):
    calls = host.file(os.path.join(STATE, "calls.log")).content_string.splitlines()
    # check (1 gather) + converge (gather + apply) + idempotence (1 gather)
    assert len(calls) == 4
