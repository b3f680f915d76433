"""The simulated host store: call accounting, faults, the C: drive, atomic writes."""

import json

import pytest

from ansible_collections.meddev.hardening.plugins.module_utils import iis_logs, winsim
from ansible_collections.meddev.hardening.plugins.modules import firewall_policy as fw_sim
from ansible_collections.meddev.hardening.plugins.modules import iis_log_scan as log_scan
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


TODAYS_LOG = r"C:\inetpub\logs\LogFiles\W3SVC2\u_ex261120.log"


def hold_log(host, **holder):
    """Mark the lab's IIS log as held open by http.sys (handles.json), as on a live server."""
    host.write("handles", {TODAYS_LOG.upper(): {"process": "http.sys", **holder}})


def scan_params():
    return {"log_roots": [r"C:\inetpub\logs\LogFiles"], "site_pattern": "W3SVC*",
            "indicators": iis_logs.catalog(), "since": "", "max_findings": 500, "max_line_bytes": 65536}


def test_a_log_held_open_for_writing_opens_only_when_write_is_shared(host):
    hold_log(host)
    with pytest.raises(winsim.SimError, match="being used by another process"):
        host.open_read(TODAYS_LOG, frozenset({"Read"}))  # StreamReader(path): FileShare.Read
    with host.open_read(TODAYS_LOG.lower(), frozenset({"Read", "Write"})) as handle:
        assert handle.read(1) == b"#"
    hold_log(host, access=["Write", "Delete"], share=["Read", "Write", "Delete"])
    with pytest.raises(winsim.SimError, match="being used by another process"):
        host.open_read(TODAYS_LOG, frozenset({"Read", "Write"}))


def test_the_scan_reads_a_log_http_sys_holds_and_would_fail_sharing_read_only(host, monkeypatch):
    hold_log(host)
    state = log_scan.scan(host, scan_params())
    assert state["stats"]["files"] == 1 and state["stats"]["matched_lines"] == 7
    monkeypatch.setattr(log_scan, "LOG_SHARE", frozenset({"Read"}))  # the old .ps1's StreamReader(path)
    with pytest.raises(winsim.SimError, match=r"cannot read the log C:\\inetpub.*being used by another process"):
        log_scan.scan(host, scan_params())


class FakeModule:
    """Just enough of AnsibleModule for run_host_module: records the one exit it makes."""

    def __init__(self, changes):
        self.params, self.check_mode, self.warnings = {"phase": "apply", "changes": changes}, False, []

    def exit_json(self, **result):
        raise SystemExit(("exit", result))

    def fail_json(self, **result):
        raise SystemExit(("fail", result))

    def warn(self, message):
        self.warnings.append(message)


def run_apply(host, monkeypatch, changes, gather, apply_change):
    monkeypatch.setenv(winsim.ENV_STATE_DIR, str(host.state_dir))
    with pytest.raises(SystemExit) as done:
        winsim.run_host_module(FakeModule(changes), "test_module", gather, apply_change)
    return done.value.args[0]


def test_a_failing_final_gather_keeps_the_applied_count_and_changed(host, monkeypatch):
    done = []

    def gather(_host, _params):
        if done:
            raise winsim.SimError("secedit /export failed (exit 1)")
        return {}

    outcome, result = run_apply(host, monkeypatch, [{"n": 1}, {"n": 2}], gather, lambda _h, c: done.append(c))
    assert outcome == "fail" and result["applied"] == 2 and result["changed"] is True
    assert "all 2 change(s) were applied, but the state after them could not be read" in result["msg"]
    assert "secedit /export failed" in result["msg"] and "state" not in result


def test_a_failing_change_reports_the_changes_before_it_and_the_state(host, monkeypatch):
    def apply_change(_host, change):
        if change["n"] == 2:
            raise winsim.SimError("Access is denied")

    outcome, result = run_apply(host, monkeypatch, [{"n": 1}, {"n": 2}, {"n": 3}], lambda _h, _p: {"ok": 1},
                                apply_change)
    assert outcome == "fail" and result["applied"] == 1 and result["changed"] is True
    assert result["msg"] == "Access is denied" and result["state"] == {"ok": 1}
