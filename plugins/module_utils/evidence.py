# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows evidence worth a look after the LRM advisory (SRC-LRM-13): what to ask, how to report."""

from __future__ import annotations

from ansible_collections.meddev.hardening.plugins.module_utils.controls import COMPLIANT, MANUAL, Control
from ansible_collections.meddev.hardening.plugins.module_utils.defender import host_list

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
    detections = host_list(defender.get("detections", []), "defender.detections", dict, "dictionaries")
    events = host_list(gathered.get("events", []), "events", dict, "dictionaries")
    findings = [{"kind": "defender_detection", "source": "SRC-LRM-13", **d} for d in detections]
    findings += [{"kind": "event", "source": "SRC-LRM-13", "why": WHY.get((e.get("log"), e.get("id")), ""), **e}
                 for e in events]
    if defender.get("available") is not True:  # off, or not the active antivirus: "0 detections" proves nothing
        defender_control = _defender_unavailable(defender.get("running_mode"), len(detections))
    else:
        defender_control = Control("IR-DEFENDER", "Antivirus detections reviewed", ("SRC-LRM-13", "SRC-IQW-3"),
                                   "no detections", f"{len(detections)} detection(s)",
                                   MANUAL if detections else COMPLIANT,
                                   "review each detection" if detections else "")
    event_control = Control("IR-EVENTS", "Windows logs show no sign of tampering", ("SRC-LRM-13",),
                            "no such events", f"{len(events)} event(s)", MANUAL if events else COMPLIANT,
                            "review the events; an admin-level attacker can delete local logs" if events else "")
    return (defender_control, event_control), findings


def _defender_unavailable(mode, count: int) -> Control:
    """IR-DEFENDER when Defender is off or passive (AMRunningMode not Normal): never compliant."""
    if mode:
        actual = f"Microsoft Defender in {mode} (not the active antivirus)"
        message = (f"AMRunningMode is {mode!r}, not 'Normal': another antivirus product is the active one; check its "
                   f"own log too ({count} Defender detection(s) listed in the findings)")
    else:
        actual = "Microsoft Defender not running"
        message = "Defender is turned off or not installed: check the installed antivirus product's own log"
    return Control("IR-DEFENDER", "Antivirus detections reviewed", ("SRC-LRM-13", "SRC-IQW-3"), "no detections",
                   actual, MANUAL, message)
