"""The simulated host store: call accounting, faults, the C: drive, atomic writes."""

import json

import pytest

from ansible_collections.meddev.hardening.plugins.module_utils import winsim
from ansible_collections.meddev.hardening.plugins.modules import firewall_policy as fw_sim
from ansible_collections.meddev.hardening.plugins.plugin_utils import winsim_profiles


@pytest.fixture
def host(tmp_path):
    return winsim.seed(tmp_path / "h", "lrm_instrument", winsim_profiles.load("lrm_instrument"))


def test_seed_writes_state_files_and_an_empty_call_log(host):
    assert (host.state_dir / "profile").read_text().strip() == "lrm_instrument"
    assert host.read("firewall")["profiles"]["Public"]["Enabled"] is False
    assert host.calls() == []
    assert host.windows_path(r"C:\Illumina\Local Run Manager\version.txt").read_bytes() == b"3.1.0\r\n"


def test_every_call_is_logged_with_module_and_time(host):
    for _call in range(3):
        with host.call("firewall_policy"):
            pass
    calls = host.calls()
    assert [c["n"] for c in calls] == [1, 2, 3]
    assert {c["module"] for c in calls} == {"firewall_policy"}
    assert all(c["time"].endswith("Z") for c in calls)
    raw = (host.state_dir / "calls.log").read_text().splitlines()
    assert all(json.loads(line)["module"] == "firewall_policy" for line in raw)


def test_fail_call_fails_exactly_the_nth_call(host):
    faulty = winsim.SimHost(host.state_dir, fail_call=2)
    with faulty.call("a"):
        pass
    with pytest.raises(winsim.SimFault, match="call 2"), faulty.call("b"):
        pytest.fail("the body of a faulted call must not run")
    with faulty.call("c"):
        pass
    assert [c.get("fault") for c in host.calls()] == [None, "fail_call", None]


def test_windows_paths_resolve_case_insensitively(host):
    assert host.windows_path(r"c:\ILLUMINA\local run manager\VERSION.TXT").read_bytes() == b"3.1.0\r\n"
    with pytest.raises(winsim.SimError):
        host.windows_path("relative\\path")
    with pytest.raises(winsim.SimError):
        host.windows_path(r"C:\Illumina\..\Windows")


def test_from_env_refuses_without_a_state_dir(tmp_path):
    with pytest.raises(winsim.SimError, match="winsim connection"):
        winsim.SimHost.from_env({})
    with pytest.raises(winsim.SimError, match="seed it first"):
        winsim.SimHost.from_env({winsim.ENV_STATE_DIR: str(tmp_path / "missing")})


def test_atomic_write_leaves_no_temp_files(host):
    host.write("firewall", {"profiles": {}, "rules": []})
    assert sorted(p.name for p in host.state_dir.iterdir() if p.name.startswith(".tmp")) == []
    assert host.read("firewall") == {"profiles": {}, "rules": []}


def test_unknown_profile_names_the_allowed_ones():
    with pytest.raises(ValueError) as error:
        winsim_profiles.load("nope")
    assert "winsim_profile" in str(error.value) and "lrm_instrument" in str(error.value)
    with pytest.raises(ValueError):
        winsim_profiles.load("../etc/passwd")


def test_sim_is_strict_where_windows_is(host):
    state = host.read("firewall")
    rule = {"name": "x", "display_name": "x", "direction": "Inbound", "action": "Allow", "enabled": True,
            "protocol": "Any", "local_ports": ["80"], "remote_addresses": ["Any"], "profiles": ["Any"]}
    with pytest.raises(winsim.SimError, match="protocol Any"):
        fw_sim.apply_change(state, {"kind": "create_rule", "rule": rule}, "g")
    with pytest.raises(winsim.SimError, match="not in the group"):
        fw_sim.apply_change(state, {"kind": "remove_rule", "name": "WINRM-HTTP-In-TCP"}, "g")
    with pytest.raises(winsim.SimError, match="No MSFT_NetFirewallRule"):
        fw_sim.apply_change(state, {"kind": "remove_rule", "name": "missing"}, "g")
