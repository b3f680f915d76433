"""Faults in the middle of an apply, for every module (winsim fault injection, docs/winsim.md).

After a fault the run must report `failed` for exactly the controls left unapplied (a check run
afterwards finds exactly those in drift), leave no half-written file, keep the backups intact, and
the next run must converge. Figures: docs/reliability.md.
"""

import hashlib
import json
import re
import xml.dom.minidom

import pytest

# role -> (lab fixture, host); every role whose host module applies changes.
ROLES = {
    "firewall": ("lab", "lrm-miseq-01"),
    # The Image Suite workstation takes Carestream's exclusions (the LRM PC takes none: SRC-LRM-6 is the SRP).
    "av_exclusions": ("workstation", "cs-imagesuite-01"),
    "baseline": ("workstation", "cs-imagesuite-01"),
    "lrm_patch": ("lab", "lrm-miseq-01"),
    "iqwebx_licgen": ("radiology", "iqwebx-01"),
}
# Records carry the time of the run; they are written whole (atomically) or not at all.
TIMESTAMPED = ("audit", "evidence", "calls.log")


def role_playbook(lab, role: str, host: str) -> str:
    path = lab.root / f"{role}.yml"
    path.write_text(f"- name: {role}\n  hosts: {host}\n  gather_facts: false\n  roles:\n"
                    f"    - role: meddev.hardening.{role}\n")
    return str(path)


def run(lab, role, host, *args, extra=None):
    result = lab.playbook(role_playbook(lab, role, host), *args, extra=extra)
    report = lab.latest_report()
    assert host not in report["unreachable"], result.stdout[-3000:]
    return result, {cid: c["status"] for cid, c in lab.controls(host).items()}


def task_result(result, key):
    """`key` from the role's result, as the stdout callback prints it at -v (JSON or YAML)."""
    return [int(value) for value in re.findall(rf'"?{key}"?: (\d+)', result.stdout)]


def files(lab, host) -> dict:
    root = lab.state_dir(host)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
            and p.name != ".lock"}


def assert_nothing_half_written(before: dict, after_fault: dict, converged: dict) -> None:
    """Every file parses, and a file on the C: drive holds either its old bytes or the bytes the
    finished run wrote. (Subsystem documents such as firewall.json legitimately sit between the
    two after k of n changes: each change rewrites them whole.)"""
    for name, data in after_fault.items():
        assert not name.rsplit("/", 1)[-1].startswith((".tmp", "tmp")), f"temporary file left: {name}"
        if name.endswith(".json"):
            json.loads(data)
        if name.endswith((".config", ".xml")):
            xml.dom.minidom.parseString(data)  # noqa: S318 - our own simulated host's file
        if name.startswith("fs/") and name in before and not any(word in name for word in TIMESTAMPED):
            assert data in (before[name], converged.get(name)), f"{name} is neither the old nor the new file"


def planned_changes(lab, role, host) -> int:
    result, statuses = run(lab, role, host, "--check", "-v")
    assert "drift" in statuses.values(), f"{role}: the lab host has no drift to apply"
    counts = task_result(result, "changes_planned")
    assert counts and counts[0] > 0, result.stdout[-2000:]
    return counts[0]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_fault_after_k_of_n_changes(role, where, request):
    fixture, host = ROLES[role]
    lab = request.getfixturevalue(fixture)
    n = planned_changes(lab, role, host)
    k = {"first": 0, "middle": n // 2, "last": n - 1}[where]
    before = files(lab, host)

    faulty, reported = run(lab, role, host, "-v", extra={"winsim_fail_after_changes": k})
    assert faulty.returncode != 0
    assert task_result(faulty, "changes_applied") == [k]
    failed = {cid for cid, status in reported.items() if status == "failed"}
    assert failed, f"{role}: a fault after {k} of {n} changes reported no failed control"
    after_fault = files(lab, host)

    # The truth: what a check run finds still to do is exactly what the faulty run called failed.
    _result, rechecked = run(lab, role, host, "--check")
    assert {cid for cid, status in rechecked.items() if status == "drift"} == failed
    assert {cid for cid, status in reported.items() if status == "fixed"} <= {
        cid for cid, status in rechecked.items() if status in ("compliant", "manual", "not_applicable")}

    converge, statuses = run(lab, role, host)
    assert converge.returncode == 0, converge.stdout[-3000:]
    assert "failed" not in statuses.values() and "drift" not in statuses.values()
    assert_nothing_half_written(before, after_fault, files(lab, host))


def test_backup_is_the_delivered_file_after_a_fault_and_rollback_is_byte_exact(lab):
    host = "lrm-miseq-01"
    apphost = "fs/C/Windows/System32/inetsrv/config/applicationHost.config"
    delivered = files(lab, host)[apphost]
    n = planned_changes(lab, "lrm_patch", host)
    faulty, _statuses = run(lab, "lrm_patch", host, extra={"winsim_fail_after_changes": n - 1})
    assert faulty.returncode != 0
    backups = {name: data for name, data in files(lab, host).items() if "backup" in name.lower()}
    assert list(backups.values()) == [delivered], sorted(backups)

    rollback, _statuses = run(lab, "lrm_patch", host, extra={"lrm_patch_state": "absent"})
    assert rollback.returncode == 0, rollback.stdout[-3000:]
    assert hashlib.sha256(files(lab, host)[apphost]).digest() == hashlib.sha256(delivered).digest()


def test_exclusions_roll_back_exactly_after_a_failed_apply(workstation):
    lab, host = workstation, "cs-imagesuite-01"
    original = lab.sim(host).read("defender")["exclusions"]
    faulty, _statuses = run(lab, "av_exclusions", host, extra={"winsim_fail_after_changes": 1})
    assert faulty.returncode != 0
    rollback, _statuses = run(lab, "av_exclusions", host, extra={"av_exclusions_state": "absent"})
    assert rollback.returncode == 0, rollback.stdout[-3000:]
    assert lab.sim(host).read("defender")["exclusions"] == original
