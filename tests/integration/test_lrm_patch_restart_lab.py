"""SRC-LRM-5 on the simulated instrument PC: the restart the patch asks for, and applying right after a run."""

import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
HOST = "lrm-miseq-01"
pytestmark = pytest.mark.integration
# Fast timings for the lab; the busy check names the lab's run process.
RESTART = {"lrm_patch_reboot": "if_required", "lrm_patch_busy_processes": ["RTA"], "lrm_patch_reboot_delay_s": 0,
           "lrm_patch_reboot_poll_s": 0, "lrm_patch_reboot_timeout_s": 60}


def output(result):
    return result.stdout + result.stderr


def lrm_controls(lab):
    return {k: v for k, v in lab.controls(HOST).items() if k.startswith("LRM-")}


def boot(lab) -> dict:
    return lab.sim(HOST).read("boot")


def lrm_calls(lab) -> list:
    return [c.get("phase") for c in lab.calls(HOST, "lrm_patch")]


def test_if_required_restarts_once_then_regathers_compliant(lab):
    result = lab.playbook("site.yml", extra=RESTART)
    assert result.returncode == 0, output(result)
    lrm = lrm_controls(lab)
    assert lrm["LRM-RESTART"]["status"] == "fixed" and "restarted: boot" in lrm["LRM-RESTART"]["actual"]
    assert lrm["LRM-REMOTE-BLOCK"]["status"] == "fixed" and lrm["LRM-AUDIT"]["status"] == "fixed"
    assert boot(lab)["boot_id"] == 2 and boot(lab)["restarts"] == 1
    # gather, apply (patch + shutdown.exe), a probe that still sees the old boot, [two attempts find the
    # host down: no module call], a probe with the new boot time, the gather that verifies.
    assert lrm_calls(lab) == ["gather", "apply", "probe", "probe", "gather"]
    assert [f["restart"] for f in lab.sim(HOST).faults()] == ["unreachable", "unreachable", "booted"]
    # The report's round trips are the module executions of calls.log: the attempts on a down host are not.
    assert lab.latest_report()["hosts"][HOST]["round_trips"] == len(lab.sim(HOST).calls())
    # Once: the next run finds nothing pending and does not restart.
    again = lab.playbook("site.yml", extra=RESTART)
    assert again.returncode == 0 and boot(lab)["boot_id"] == 2, output(again)
    assert lrm_controls(lab)["LRM-RESTART"]["status"] == "compliant"
    assert lab.playbook("drift.yml", extra=RESTART).returncode == 0


def test_never_reports_the_restart_as_manual_and_if_required_does_it_later(lab):
    assert lab.playbook("site.yml").returncode == 0
    restart = lrm_controls(lab)["LRM-RESTART"]
    assert restart["status"] == "manual" and "restart required" in restart["message"]
    assert boot(lab).get("boot_id", 1) == 1
    # Still pending on the next run (same boot), until a run with if_required restarts.
    assert lab.playbook("site.yml").returncode == 0
    assert lrm_controls(lab)["LRM-RESTART"]["status"] == "manual"
    assert lab.playbook("site.yml", extra=RESTART).returncode == 0
    assert lrm_controls(lab)["LRM-RESTART"]["status"] == "fixed" and boot(lab)["boot_id"] == 2
    assert lrm_calls(lab)[-5:] == ["gather", "apply", "probe", "probe", "gather"]


def test_check_mode_never_restarts(lab):
    before = lab.fingerprint(HOST, include_calls=False)
    result = lab.playbook("site.yml", "--check", extra=RESTART)
    assert result.returncode == 0, output(result)
    assert lrm_controls(lab)["LRM-RESTART"]["status"] == "drift"
    assert lab.fingerprint(HOST, include_calls=False) == before and not lab.sim(HOST).faults()
    assert "apply" not in lrm_calls(lab) and "probe" not in lrm_calls(lab)


def test_a_run_in_progress_refuses_the_restart(lab):
    lab.sim(HOST).write("processes", {"running": ["explorer", "RTA"]})
    result = lab.playbook("site.yml", extra=RESTART)
    assert result.returncode == 0, output(result)
    lrm = lrm_controls(lab)
    assert lrm["LRM-RESTART"]["status"] == "deferred" and "RTA" in lrm["LRM-RESTART"]["message"]
    assert not boot(lab) and "apply" not in lrm_calls(lab)


def test_without_a_busy_check_the_role_does_not_restart(lab):
    result = lab.playbook("site.yml", extra={**RESTART, "lrm_patch_busy_processes": []})
    assert result.returncode == 0, output(result)
    restart = lrm_controls(lab)["LRM-RESTART"]
    assert restart["status"] == "manual" and "no run-in-progress check is declared" in restart["message"]
    assert not boot(lab)


def test_wait_for_idle_applies_as_soon_as_the_run_ends(lab):
    # The run ends after the busy check has seen it three times (the gather and two probes).
    lab.sim(HOST).write("processes", {"running": ["explorer", "RTA"], "ends_after_checks": {"RTA": 3}})
    result = lab.playbook("site.yml", extra={"lrm_patch_busy_processes": ["RTA"], "lrm_patch_wait_for_idle": 1,
                                             "lrm_patch_wait_poll_s": 0})
    assert result.returncode == 0, output(result)
    lrm = lrm_controls(lab)
    assert lrm["LRM-REMOTE-BLOCK"]["status"] == "fixed" and lrm["LRM-AUDIT"]["status"] == "fixed"
    # One cheap probe per poll: two that still see the run, one that finds it over; then gather + apply.
    assert lrm_calls(lab) == ["gather", "probe", "probe", "probe", "gather", "apply"]
    assert "RTA" not in lab.sim(HOST).read("processes")["running"]


def test_wait_for_idle_timeout_leaves_the_changes_deferred(lab):
    lab.sim(HOST).write("processes", {"running": ["explorer", "RTA"], "ends_after_checks": {"RTA": 100000}})
    before = lab.sim(HOST).windows_path(r"C:\Windows\System32\inetsrv\config\applicationHost.config").read_bytes()
    result = lab.playbook("site.yml", extra={"lrm_patch_busy_processes": ["RTA"], "lrm_patch_wait_for_idle": 0.01,
                                             "lrm_patch_wait_poll_s": 0.1})
    assert result.returncode == 0, output(result)
    control = lrm_controls(lab)["LRM-REMOTE-BLOCK"]
    assert control["status"] == "deferred" and "still busy after waiting 0.01 min" in control["message"]
    assert "apply" not in lrm_calls(lab) and lrm_calls(lab).count("probe") >= 1
    path = r"C:\Windows\System32\inetsrv\config\applicationHost.config"
    assert lab.sim(HOST).windows_path(path).read_bytes() == before


def test_host_restart_action_alone_restarts_when_idle_and_defers_during_a_run(lab, tmp_path):
    playbook = tmp_path / "restart.yml"
    playbook.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - meddev.hardening.host_restart:\n        busy_processes: [RTA]\n"
        "        reboot_delay_s: 0\n        reboot_poll_s: 0\n        reboot_timeout_s: 60\n")
    command = [*lab.playbook_command("site.yml")[:3], str(playbook), "-v"]

    def run():
        return subprocess.run(command, cwd=ROOT, env=lab.env(), capture_output=True, text=True, timeout=600,
                              check=False)

    lab.sim(HOST).write("processes", {"running": ["explorer", "RTA"]})
    deferred = run()
    assert deferred.returncode == 0 and "run is in progress" in output(deferred) and not boot(lab)
    lab.sim(HOST).write("processes", {"running": ["explorer"]})
    done = run()
    assert done.returncode == 0 and "changed=1" in done.stdout, output(done)
    assert boot(lab)["boot_id"] == 2 and lrm_calls(lab) == ["probe", "probe", "apply", "probe", "probe"]
