#!/usr/bin/python
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docs of meddev.hardening.host_evidence, and its simulated-host (winsim) implementation."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_evidence
short_description: Collect antivirus detections and tell-tale Windows events, read only
version_added: 0.1.0
description:
  - For an investigation after the LRM advisory (SRC-LRM-13) or an iQ-WEBX quarantine (SRC-IQW-3),
    in one round trip lists Microsoft Defender detections (C(Get-MpThreatDetection)) and the Windows
    events that show an attacker at work or covering tracks (audit log cleared, accounts and group
    members added, services installed, Defender detections and real-time protection turned off).
  - Defender's detections count only when Defender is the active antivirus (service enabled,
    C(AMRunningMode) C(Normal)); turned off or passive, C(IR-DEFENDER) is C(manual), never C(compliant).
  - Never changes the host. Returns controls C(IR-DEFENDER) and C(IR-EVENTS) and the findings.
author:
  - meddev.hardening contributors
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: windows
options:
  since:
    description: Only events and detections at or after this UTC time (C(2026-11-01T00:00:00Z)).
    type: str
    default: ""
  max_events:
    description: Most events returned per log.
    type: int
    default: 200
  variable_prefix:
    description:
      - Internal. Set by C(playbooks/investigate.yml) (to C(investigate_));
        leave it unset when calling the module directly.
      - Prefix that error messages put before an option's name, so that they name the variable a
        role user sets (C(investigate_<option>)) rather than the module option.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Collect evidence since the advisory
  meddev.hardening.host_evidence:
    since: "2022-06-02T00:00:00Z"
"""

RETURN = r"""
findings:
  description: Detections and events, each with kind, time and what it means.
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.meddev.hardening.plugins.module_utils.winsim import SimHost, run_host_module

HOST_ARGUMENT_SPEC = {
    "phase": {"type": "str", "required": True, "choices": ["gather"]},
    "queries": {"type": "list", "elements": "dict", "required": True},
    "since": {"type": "str", "default": ""},
    "max_events": {"type": "int", "default": 200},
}


def gather(host: SimHost, params: dict) -> dict:
    defender = host.read("defender", {"available": False})
    since = params["since"]
    # As the .ps1: "available" needs the service enabled (defender.json available = AMServiceEnabled) and
    # Defender the active antivirus (running_mode Normal); a passive Defender still lists its detections.
    enabled = bool(defender.get("available"))
    mode = defender.get("running_mode") if enabled else None
    detections = [d for d in defender.get("detections", []) if enabled and (not since or d.get("time", "") >= since)]
    logs = host.read("eventlog")
    events = []
    for query in params["queries"]:
        wanted = [e for e in logs.get(query["log"], []) if e.get("id") in query["ids"]
                  and (not since or e.get("time", "") >= since)]
        events += [{"log": query["log"], **e} for e in wanted[: params["max_events"]]]
    return {"defender": {"available": enabled and mode == "Normal", "running_mode": mode, "detections": detections},
            "events": events}


def main():
    run_host_module(AnsibleModule(argument_spec=HOST_ARGUMENT_SPEC, supports_check_mode=True), "host_evidence",
                    gather)


if __name__ == "__main__":
    main()
