"""A dropped connection or a timeout during gather or apply, and two runs against one host at once.

A drop (winsim_drop_call) kills the module execution at a point and no reply arrives: the host is
reported unreachable. Guarantees: nothing half-written, backups intact, the next run converges.
"""

import fcntl
import json
import multiprocessing
import subprocess
import time

import pytest
from test_faults import ROLES, assert_nothing_half_written, files, role_playbook

from ansible_collections.meddev.hardening.plugins.module_utils import winsim

APPHOST = "fs/C/Windows/System32/inetsrv/config/applicationHost.config"


def run(lab, role, host, *args, extra=None):
    result = lab.playbook(role_playbook(lab, role, host), *args, extra=extra)
    return result, lab.latest_report()


def statuses(report, host):
    return {c["id"]: c["status"] for c in report["hosts"][host]["controls"]}


@pytest.mark.parametrize("role", ROLES)
def test_drop_during_gather_changes_nothing_and_the_next_run_converges(role, request):
    fixture, host = ROLES[role]
    lab = request.getfixturevalue(fixture)
    before = lab.fingerprint(host, include_calls=False)
    dropped, report = run(lab, role, host, extra={"winsim_drop_call": 1})
    assert dropped.returncode != 0 and host in report["unreachable"]
    assert "dropped" in dropped.stdout
    assert lab.fingerprint(host, include_calls=False) == before
    converge, report = run(lab, role, host)
    assert converge.returncode == 0, converge.stdout[-3000:]
    assert not {"failed", "drift"} & set(statuses(report, host).values())


@pytest.mark.parametrize("role", ROLES)
def test_drop_in_the_middle_of_apply_leaves_nothing_half_written(role, request):
    fixture, host = ROLES[role]
    lab = request.getfixturevalue(fixture)
    before = files(lab, host)
    dropped, report = run(lab, role, host, extra={"winsim_drop_call": 2, "winsim_fail_after_changes": 1})
    assert dropped.returncode != 0 and host in report["unreachable"]
    assert [f["after_changes"] for f in lab.sim(host).faults()] == [1]
    after_drop = files(lab, host)
    converge, report = run(lab, role, host)
    assert converge.returncode == 0, converge.stdout[-3000:]
    assert not {"failed", "drift"} & set(statuses(report, host).values())
    assert_nothing_half_written(before, after_drop, files(lab, host))
    _result, check = run(lab, role, host, "--check")
    assert set(statuses(check, host).values()) <= {"compliant", "manual", "not_applicable"}


def test_timeout_after_the_host_finished_is_seen_as_done_by_the_next_check(lab):
    host = "lrm-miseq-01"
    delivered = files(lab, host)[APPHOST]
    dropped, report = run(lab, "lrm_patch", host, extra={"winsim_drop_call": 2})
    assert dropped.returncode != 0 and host in report["unreachable"]
    _result, check = run(lab, "lrm_patch", host, "--check")
    assert {statuses(check, host)[c] for c in ("LRM-REMOTE-BLOCK", "LRM-UPLOAD-Uploads", "LRM-AUDIT")} == {"compliant"}
    backups = [data for name, data in files(lab, host).items() if "backup" in name.lower()]
    assert backups == [delivered]


def test_two_runs_at_once_are_serialised_per_execution_and_converge(lab):
    host = "lrm-miseq-01"
    delivered = files(lab, host)[APPHOST]

    def start():
        return subprocess.Popen(lab.playbook_command("site.yml"), cwd=lab.root, env=lab.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    first, second = start(), start()
    outputs = [p.communicate(timeout=600)[0] for p in (first, second)]
    for process, output in zip((first, second), outputs, strict=True):
        # Either run may lose the race for a file; it then says so and changes nothing of it.
        assert process.returncode == 0 or "changed since it was read" in output, output[-3000:]
    numbers = [c["n"] for c in lab.calls(host)]
    assert numbers == list(range(1, len(numbers) + 1))
    after = files(lab, host)
    assert [data for name, data in after.items() if "backup" in name.lower()] == [delivered]
    final = lab.playbook("site.yml")
    assert final.returncode == 0, final.stdout[-3000:]
    assert lab.playbook("drift.yml").returncode == 0


def test_a_held_host_lock_makes_the_next_run_wait_then_fail_clearly(lab):
    host = "lrm-miseq-01"
    before = lab.fingerprint(host)
    with open(lab.state_dir(host) / ".lock", "a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        started = time.monotonic()
        result = lab.playbook("drift.yml", extra={"winsim_lock_timeout": 2})
        waited = time.monotonic() - started
    assert result.returncode != 0
    assert "another run holds the host lock (waited 2 s); nothing was changed" in result.stdout
    assert waited >= 2
    assert lab.fingerprint(host) == before


def _hold_and_write(state_dir, tag, log):
    host = winsim.SimHost(state_dir)
    with host.call("probe", "apply"):
        for step in range(3):
            with open(log, "a") as out:
                out.write(json.dumps([tag, step]) + "\n")
            time.sleep(0.05)


def test_host_lock_never_interleaves_two_executions(tmp_path):
    winsim.seed(tmp_path / "h", "empty", {})
    log = tmp_path / "order.log"
    workers = [multiprocessing.Process(target=_hold_and_write, args=(tmp_path / "h", tag, log)) for tag in "AB"]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    tags = [json.loads(line)[0] for line in log.read_text().splitlines()]
    assert tags in (list("AAABBB"), list("BBBAAA"))
