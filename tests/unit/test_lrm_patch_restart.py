"""SRC-LRM-5 without Ansible: the LRM-RESTART plan, its options, and the winsim reboot and busy models."""

import base64
import json
import pathlib

import pytest

from ansible_collections.meddev.hardening.plugins.module_utils import lrm_patch, winsim
from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError
from ansible_collections.meddev.hardening.plugins.modules import lrm_patch as lrm_sim

APPHOST = (pathlib.Path(__file__).resolve().parents[1] / "fixtures/iis/applicationHost.config").read_bytes()
ARGS = {"audit_path": r"C:\ProgramData\m\audit.json", "backup_dir": r"C:\ProgramData\m\backups",
        "busy_processes": ["RTA"]}
BOOT = "2026-11-20T05:00:00.0000000Z"


def desired(**args):
    return lrm_patch.validate({**ARGS, **args}, "lrm_patch_", now="2026-11-23T00:00:00Z", collection_version="0.1.0")


def gathered(**extra):
    return {"lrm": {"installed": True, "version": "3.1.0", "install_dir": r"C:\Illumina\Local Run Manager"},
            "apphost": {"content": base64.b64encode(APPHOST).decode()}, "features": {"Web-IP-Security": True},
            "site_folders": {"LRM": ["Uploads"]}, "busy": [], "boot_time": BOOT, **extra}


def patched_state(changed_boot=BOOT) -> dict:
    """The state after an apply of the patch during boot ``changed_boot``."""
    plan = lrm_patch.plan(desired(), gathered())
    content = next(c for c in plan.changes if c.kind == "write_file").params["content"]
    record = json.loads(next(c for c in plan.changes if c.kind == "write_audit").params["content"])
    assert record["changed_boot"] == BOOT  # the apply's record names the boot it changed IIS in
    record["changed_boot"] = changed_boot
    return gathered(apphost={"content": content}, audit_text=json.dumps(record))


def restart(plan):
    return next(c for c in plan.controls if c.id == "LRM-RESTART")


def test_never_reports_the_restart_the_patch_needs_as_manual():
    plan = lrm_patch.plan(desired(), gathered())
    assert restart(plan).status == "manual" and "restart required" in restart(plan).message
    assert "restart" not in [c.kind for c in plan.changes]
    # Applied earlier in this boot: still pending, and still manual.
    later = lrm_patch.plan(desired(), patched_state())
    assert restart(later).status == "manual" and not later.changes


def test_if_required_restarts_last_and_only_when_pending():
    plan = lrm_patch.plan(desired(reboot="if_required"), gathered())
    assert restart(plan).status == "drift" and plan.changes[-1].kind == "restart"
    params = plan.changes[-1].params
    assert params["delay_s"] == 15 and params["busy_processes"] == ["RTA"] and len(params["comment"]) <= 512
    pending = lrm_patch.plan(desired(reboot="if_required"), patched_state())
    assert [c.kind for c in pending.changes] == ["restart"]
    # After a restart the boot time differs: nothing pending, nothing planned.
    done = lrm_patch.plan(desired(reboot="if_required"), patched_state(changed_boot="2026-11-01T00:00:00.0000000Z"))
    assert restart(done).status == "compliant" and not done.changes


def test_always_restarts_even_when_nothing_is_pending_and_a_run_defers_it():
    plan = lrm_patch.plan(desired(reboot="always"), patched_state(changed_boot="older"))
    assert [c.kind for c in plan.changes] == ["restart"] and restart(plan).status == "drift"
    busy = lrm_patch.plan(desired(reboot="always"), {**patched_state(), "busy": ["RTA"]})
    assert restart(busy).status == "deferred" and not busy.changes


def test_no_restart_without_a_busy_check():
    plan = lrm_patch.plan(desired(reboot="if_required", busy_processes=[]), gathered())
    assert restart(plan).status == "manual" and "no run-in-progress check" in restart(plan).message
    assert "restart" not in [c.kind for c in plan.changes]


@pytest.mark.parametrize(("option", "value", "variable"), [
    ("reboot", "yes", "lrm_patch_reboot"),
    ("reboot_delay_s", 601, "lrm_patch_reboot_delay_s"),
    ("reboot_timeout_s", "soon", "lrm_patch_reboot_timeout_s"),
    ("wait_for_idle", -1, "lrm_patch_wait_for_idle"),
    ("wait_poll_s", True, "lrm_patch_wait_poll_s"),
])
def test_bad_restart_and_wait_options_name_the_variable(option, value, variable):
    with pytest.raises(ArgumentError) as error:
        desired(**{option: value})
    assert error.value.variable == variable


# -- winsim ------------------------------------------------------------------------------------------

@pytest.fixture
def host(tmp_path):
    return winsim.seed(tmp_path / "h", "t", {"state": {"processes": {"running": ["explorer", "RTA"]}}})


def test_busy_check_counts_down_a_run_that_ends(host):
    host.write("processes", {"running": ["explorer", "RTA"], "ends_after_checks": {"RTA": 2}})
    assert [winsim.busy_check(host, ["RTA"], []) for _check in range(3)] == [["RTA"], ["RTA"], []]
    assert host.read("processes")["running"] == ["explorer"]


def test_restart_is_refused_while_a_run_is_in_progress(host):
    change = {"kind": "restart", "delay_s": 0, "comment": "x", "busy_processes": ["rta"], "busy_services": []}
    with pytest.raises(winsim.SimError, match="run is in progress"):
        lrm_sim.apply_change(host, change)
    assert not host.read("boot")


def test_restart_boots_with_a_new_boot_time_and_refuses_a_second_schedule(host):
    host.write("processes", {"running": ["explorer"]})
    change = {"kind": "restart", "delay_s": 0, "comment": "x", "busy_processes": ["RTA"], "busy_services": []}
    lrm_sim.apply_change(host, change)
    with pytest.raises(winsim.SimError, match="1190"):
        lrm_sim.apply_change(host, change)
    boot = host.read("boot")
    boot["restart"].update(answering=0, down=0)  # the down phase exits the process: run in the lab tests
    host.write("boot", boot)
    winsim.restart_gate(host)
    after = winsim.boot_state(host)
    assert after["boot_id"] == 2 and after["boot_time"] != winsim.SEEDED_BOOT["boot_time"] and "restart" not in after
    assert host.faults()[-1]["restart"] == "booted"


def test_shutdown_arguments_are_checked_as_shutdown_exe_does(host):
    host.write("processes", {"running": []})
    with pytest.raises(winsim.SimError, match="512"):
        winsim.schedule_restart(host, [], 0, "x" * 513)
    with pytest.raises(winsim.SimError, match="out of range"):
        winsim.schedule_restart(host, [], 315360001, "x")
