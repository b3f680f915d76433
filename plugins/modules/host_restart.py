#!/usr/bin/python
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docs of meddev.hardening.host_restart; the work is done by the action plugin, over the lrm_patch host module."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_restart
short_description: Restart an instrument PC when no run is in progress, and wait for its new boot
version_added: 0.1.0
description:
  - Reads the boot time (C(Win32_OperatingSystem.LastBootUpTime)) and the busy check in one call; while a
    listed process runs or a listed service is Running (a sequencing run, SRC-LRM-5) it does not restart
    and returns C(deferred).
  - Otherwise runs C(shutdown.exe /r /t <reboot_delay_s> /c <comment> /d p:4:1) on the host, after the
    same busy check there; waits, asking every O(reboot_poll_s) seconds, until the host answers with a new
    boot time (the connection drops meanwhile and is reset), or fails after O(reboot_timeout_s).
  - The host part is the C(meddev.hardening.lrm_patch) host module (its C(probe) phase and C(restart)
    change). The C(meddev.hardening.lrm_patch) role restarts through the same code with C(lrm_patch_reboot).
  - Check mode never restarts.
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
  busy_processes:
    description:
      - Processes whose presence means a run is in progress.
      - At least one name in this list or in O(busy_services) is required.
    type: list
    elements: str
    default: []
  busy_services:
    description: Services whose Running state means a run is in progress.
    type: list
    elements: str
    default: []
  reboot_delay_s:
    description: Seconds C(shutdown.exe /t) waits (0-600; above 0 Windows closes running programs, C(/f) implied).
    type: int
    default: 15
  reboot_timeout_s:
    description: Seconds the host may take to come back with a new boot time.
    type: int
    default: 1200
  reboot_poll_s:
    description: Seconds between two boot-time checks.
    type: int
    default: 10
  audit_path:
    description: Passed to the host module (which requires it); nothing is written.
    type: str
    default: C:\ProgramData\meddev.hardening\lrm_patch\audit.json
  backup_dir:
    description: Passed to the host module (which requires it); nothing is written.
    type: str
    default: C:\ProgramData\meddev.hardening\backups
  variable_prefix:
    description: Internal. Prefix error messages put before an option's name.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Restart the instrument PC once its run has ended
  meddev.hardening.host_restart:
    busy_processes: [RTA]
"""

RETURN = r"""
restarted:
  description: Whether the host came back with a new boot time.
  returned: always
  type: bool
deferred:
  description: A run was in progress; nothing was done.
  returned: when a run was in progress
  type: bool
boot_time_before:
  description: LastBootUpTime (UTC) before the restart.
  returned: when the restart was started
  type: str
boot_time:
  description: LastBootUpTime (UTC) after the restart.
  returned: when the restart was started
  type: str
elapsed_s:
  description: Seconds from the start of the wait to the new boot time.
  returned: when the restart was started
  type: float
host_calls:
  description: Module executions that answered (unreachable attempts while the host was down are not counted).
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={
        "busy_processes": {"type": "list", "elements": "str", "default": []},
        "busy_services": {"type": "list", "elements": "str", "default": []},
        "reboot_delay_s": {"type": "int", "default": 15},
        "reboot_timeout_s": {"type": "int", "default": 1200},
        "reboot_poll_s": {"type": "int", "default": 10},
        "audit_path": {"type": "str", "default": "C:\\ProgramData\\meddev.hardening\\lrm_patch\\audit.json"},
        "backup_dir": {"type": "str", "default": "C:\\ProgramData\\meddev.hardening\\backups"},
        "variable_prefix": {"type": "str", "default": ""},
    }, supports_check_mode=True)
    module.fail_json(msg="host_restart runs on the controller through its action plugin")


if __name__ == "__main__":
    main()
