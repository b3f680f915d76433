# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows evidence worth a look after the LRM advisory (SRC-LRM-13): what to ask, how to report."""

from __future__ import annotations

from ansible_collections.meddev.hardening.plugins.module_utils.controls import COMPLIANT, MANUAL, Control

# (log, event id, why) - signs of an attacker at work or covering tracks.
EVENTS = (
    ("Security", 1102, "the Security audit log was cleared"),
    ("Security", 4720, "a user account was created"),
    ("Security", 4732, "a member was added to a security-enabled local group"),
    ("System", 104, "an event log was cleared"),
    ("System", 7045, "a service was installed"),
    ("Microsoft-Windows-Windows Defender/Operational", 1116, "Defender detected malware"),
    ("Microsoft-Windows-Windows Defender/Operational", 1117, "Defender acted on malware"),
    ("Microsoft-Windows-Windows Defender/Operational", 5001, "real-time protection was disabled"),
)
WHY = {(log, eid): why for log, eid, why in EVENTS}


def queries() -> list:
    """Per log, the event ids to fetch: [{"log", "ids"}]."""
    logs = {}
    for log, eid, _why in EVENTS:
        logs.setdefault(log, []).append(eid)
    return [{"log": log, "ids": ids} for log, ids in logs.items()]


def controls_and_findings(gathered: dict) -> tuple:
    defender = gathered.get("defender") or {}
    detections = defender.get("detections") or []
    events = gathered.get("events") or []
    findings = [{"kind": "defender_detection", "source": "SRC-LRM-13", **d} for d in detections]
    findings += [{"kind": "event", "source": "SRC-LRM-13", "why": WHY.get((e.get("log"), e.get("id")), ""), **e}
                 for e in events]
    if not defender.get("available", False):
        defender_control = Control("IR-DEFENDER", "Antivirus detections reviewed", ("SRC-LRM-13", "SRC-IQW-3"),
                                   "no detections", "Microsoft Defender not available", MANUAL,
                                   "check the installed antivirus product's own log")
    else:
        defender_control = Control("IR-DEFENDER", "Antivirus detections reviewed", ("SRC-LRM-13", "SRC-IQW-3"),
                                   "no detections", f"{len(detections)} detection(s)",
                                   MANUAL if detections else COMPLIANT,
                                   "review each detection" if detections else "")
    event_control = Control("IR-EVENTS", "Windows logs show no sign of tampering", ("SRC-LRM-13",),
                            "no such events", f"{len(events)} event(s)", MANUAL if events else COMPLIANT,
                            "review the events; an admin-level attacker can delete local logs" if events else "")
    return (defender_control, event_control), findings
