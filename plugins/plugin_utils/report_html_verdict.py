# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report's verdict and each host's state, as the HTML report shows them at the top."""

from __future__ import annotations

UNREACHABLE, FAILED, DRIFT, REVIEW, AUDIT_ONLY, OK = "unreachable", "failed", "drift", "review", "audit-only", "ok"
HOST_STATES = (UNREACHABLE, FAILED, DRIFT, REVIEW, AUDIT_ONLY, OK)  # worst first: the overview sorts by it
LABELS = {UNREACHABLE: "UNREACHABLE", FAILED: "FAILED", DRIFT: "DRIFT", REVIEW: "REVIEW", AUDIT_ONLY: "AUDIT-ONLY",
          OK: "OK"}


# report.json's gate counts (report.gate) by the names used here
GATE_COUNTS = {"drift": "enforced_drift", "audit_only_drift": "audit_only_drift", "failed": "failed_controls",
               "unreachable_hosts": "unreachable_hosts", "failed_hosts": "failed_hosts"}


def host_state(host: dict) -> str:
    """The one word the overview shows for a host (a host that could not be judged is never 'ok')."""
    statuses = [c.get("status") for c in host.get("controls") or []]
    if host.get("unreachable"):
        return UNREACHABLE
    if host.get("failed") or host.get("errors") or "failed" in statuses or not statuses:
        return FAILED
    if host.get("audit_only"):
        return AUDIT_ONLY
    if "drift" in statuses:
        return DRIFT
    # manual controls and investigation findings need a person, though they fail no gate
    return REVIEW if "manual" in statuses or host.get("findings") else OK


def counts(report: dict) -> dict:
    """Enforced drift, audit-only drift, failed controls, unreachable and failed hosts."""
    out = {"drift": 0, "audit_only_drift": 0, "failed": 0, "unreachable_hosts": 0, "failed_hosts": 0}
    for host in (report.get("hosts") or {}).values():
        for control in host.get("controls") or []:
            if control.get("status") == "drift":
                out["audit_only_drift" if host.get("audit_only") else "drift"] += 1
            elif control.get("status") == "failed":
                out["failed"] += 1
        state = host_state(host)
        out["unreachable_hosts"] += state == UNREACHABLE
        out["failed_hosts"] += state == FAILED
    return out


def verdict(report: dict) -> dict:
    """``report["gate"]`` when the run wrote one (docs/report.md), else the same rule computed here:
    drift on an enforced host, a failed control, or a host that could not be judged fails the gate."""
    numbers = counts(report)
    gate = report.get("gate")
    if isinstance(gate, dict) and isinstance(gate.get("passed"), bool):
        for mine, theirs in GATE_COUNTS.items():  # the gate's own numbers, where it gives them
            if isinstance(gate.get(theirs), int):
                numbers[mine] = gate[theirs]
        return {"passed": gate["passed"], "reason": str(gate.get("reason") or ""), **numbers}
    problems = [f"{n} {what}" for n, what in ((numbers["drift"], "drift on enforced hosts"),
                                              (numbers["failed"], "failed controls"),
                                              (numbers["unreachable_hosts"], "unreachable hosts"),
                                              (numbers["failed_hosts"], "hosts that failed"))
                if n]
    if problems:
        return {"passed": False, "reason": ", ".join(problems), **numbers}
    reason = "no drift or failure on enforced hosts"
    if numbers["audit_only_drift"]:
        reason += f"; {numbers['audit_only_drift']} drift on audit-only hosts (reported, never changed)"
    return {"passed": True, "reason": reason, **numbers}


def trend_point(report: dict) -> dict:
    """One run's point of the drift trend: {generated, drift, audit_only_drift, failed}."""
    numbers = counts(report)
    return {"generated": str(report.get("generated") or ""), "drift": numbers["drift"],
            "audit_only_drift": numbers["audit_only_drift"], "failed": numbers["failed"]}
