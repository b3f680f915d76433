#!/usr/bin/python
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docs of meddev.hardening.iis_log_scan, and its simulated-host (winsim) implementation."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: iis_log_scan
short_description: Scan IIS logs on the host for the exploitation indicators of the LRM advisory
version_added: 0.1.0
description:
  - Looks for the signs SRC-LRM-12 names in the W3C logs under O(log_roots) (every C(W3SVC*) site
    folder by default) - POSTs to server-side scripts such as C(POST /hackertool.asp), uploads of
    content other than manifests, the strings C(wscript), C(shell), C(wscript.network),
    C(scripting.filesystemobject) (case-insensitive, also URL-encoded) - plus operating-system
    commands and directory traversal in requests, from non-loopback clients.
  - Filters on the host and returns only matches with counts, never the logs; reads line by line
    with bounded memory. Parses each file by its C(#Fields:) header, which may change inside a file.
  - Never changes the host. Returns one control (C(IR-IIS-LOGS)) and the findings.
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
  log_roots:
    description: Folders holding the per-site log folders.
    type: list
    elements: str
    default: ['C:\inetpub\logs\LogFiles']
  site_pattern:
    description: Site log folder name pattern under each root.
    type: str
    default: W3SVC*
  indicators:
    description: Indicator ids to look for; empty means all.
    type: list
    elements: str
    default: []
  since:
    description: Only requests at or after this UTC time (C(2026-11-01T00:00:00Z)).
    type: str
    default: ""
  max_findings:
    description: Most findings returned; counts stay exact.
    type: int
    default: 500
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
- name: Look for signs of exploitation since the advisory
  meddev.hardening.iis_log_scan:
    since: "2022-06-02T00:00:00Z"
"""

RETURN = r"""
findings:
  description: Matching requests with file, line, time (UTC), client_ip, method, uri, query, status, indicator.
  returned: always
  type: list
  elements: dict
counts:
  description: Matches per indicator (exact, even when findings are capped).
  returned: always
  type: dict
scan_stats:
  description: Files, lines kept and bytes (not characters) read; malformed, oversized and loopback lines
    skipped; matched_lines, the lines with an indicator.
  returned: always
  type: dict
"""

import fnmatch

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.meddev.hardening.plugins.module_utils.iis_logs import Scan
from ansible_collections.meddev.hardening.plugins.module_utils.winsim import SimError, SimHost, run_host_module

HOST_ARGUMENT_SPEC = {
    "phase": {"type": "str", "required": True, "choices": ["gather"]},
    "log_roots": {"type": "list", "elements": "str", "required": True},
    "site_pattern": {"type": "str", "required": True},
    "indicators": {"type": "list", "elements": "dict", "required": True},
    "since": {"type": "str", "default": ""},
    "max_findings": {"type": "int", "default": 500},
    "max_line_bytes": {"type": "int", "default": 65536},
}


# The share mode MeddevLogScan.cs opens a log with (FileShare.ReadWrite | FileShare.Delete): http.sys
# keeps today's log open for writing, so anything less fails with a sharing violation.
LOG_SHARE = frozenset(("Read", "Write", "Delete"))


def scan(host: SimHost, params: dict) -> dict:
    """The .ps1's walk: site folders matching the pattern, then their *.log files, both in ordinal
    name order, hidden ones included; each log named root\\site\\file as the options spell the root."""
    result = Scan(params["indicators"], params["since"], params["max_findings"], params["max_line_bytes"])
    pattern = params["site_pattern"].lower()
    for root in params["log_roots"]:
        folder = host.windows_path(root)
        if not folder.is_dir():
            continue
        base = root.rstrip("\\")
        sites = sorted(p.name for p in folder.iterdir() if p.is_dir() and fnmatch.fnmatchcase(p.name.lower(), pattern))
        for site in sites:
            logs = sorted(p.name for p in (folder / site).iterdir() if p.is_file() and p.name.lower().endswith(".log"))
            for log in logs:
                path = f"{base}\\{site}\\{log}"
                try:
                    handle = host.open_read(path, LOG_SHARE)
                except (SimError, OSError) as error:
                    raise SimError(f"cannot read the log {path}: {error}") from None
                with handle:
                    result.scan_file(path, handle)
    return result.result()


def main():
    run_host_module(AnsibleModule(argument_spec=HOST_ARGUMENT_SPEC, supports_check_mode=True), "iis_log_scan",
                    scan)


if __name__ == "__main__":
    main()
