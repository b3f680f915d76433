#!/usr/bin/python
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docs of meddev.hardening.iqwebx_licgen, and its simulated-host (winsim) implementation."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: iqwebx_licgen
short_description: Bring back iQ-WEBX LicGen.exe after antivirus removal, as the field safety notice says
version_added: 0.1.0
description:
  - Finds iQ-WEBX and the iQ-X version; checks that C(<install>\PACS\php\LicGen.exe) is present directly
    in that folder (SRC-IQW-6).
  - If it is missing, adds the antivirus exclusion first (SRC-IQW-9), then restores the file from
    Defender's quarantine (SRC-IQW-7), or else copies the distributor artifact chosen by the full iQ-X
    version, verified by SHA-256 on the controller and on the host (SRC-IQW-8). No artifact for that
    version fails with the message to contact the distributor quoting the version. Nothing is downloaded.
  - Checks from the host that the iQ-WEB login page returns 200 with content (SRC-IQW-4); updates stale
    antivirus definitions (SRC-IQW-1); reports a pending restart without ever forcing one (SRC-IQW-2)
    and recent detections (SRC-IQW-3); records every step in an evidence file (SRC-IQW-10).
author:
  - meddev.hardening contributors
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: windows
options:
  install_dir:
    description: Install folder when the registry does not say.
    type: str
    default: C:\Program Files\iQ-WEBX
  login_url:
    description: The iQ-WEB login page, requested from the host itself.
    type: str
    default: http://localhost/iqweb/login
  artifacts:
    description: Full iQ-X version -> C(path) (a LicGen.exe on the controller) and C(sha256).
    type: dict
    default: {}
  signature_max_age_days:
    description: Older antivirus definitions are updated.
    type: int
    default: 1
  evidence_path:
    description: Evidence file on the host.
    type: str
    default: C:\ProgramData\meddev.hardening\iqwebx_licgen\evidence.json
  variable_prefix:
    description: Prefix for variable names in error messages.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Restore LicGen.exe where antivirus took it
  meddev.hardening.iqwebx_licgen:
    artifacts:
      2.2.0.6: {path: /srv/distributor/iqx/2.2.0.6/LicGen.exe, sha256: "0123...cdef"}
"""

RETURN = r"""
iqx_version:
  description: The iQ-X version found.
  returned: when installed
  type: str
"""

import base64
import hashlib

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.meddev.hardening.plugins.module_utils.winsim import (
    SimError,
    SimHost,
    atomic_write_bytes,
    run_host_module,
    write_record,
)

HOST_ARGUMENT_SPEC = {
    "phase": {"type": "str", "required": True, "choices": ["gather", "apply"]},
    "install_dir": {"type": "str", "required": True},
    "login_url": {"type": "str", "required": True},
    "evidence_path": {"type": "str", "required": True},
    "changes": {"type": "list", "elements": "dict", "default": []},
}


def _product(host: SimHost, default_dir: str) -> dict:
    entry = host.uninstall_entry(lambda name: name.lower().startswith(("iq-webx", "iq-x")))
    if entry is None:
        return {"installed": False}
    return {"installed": True, "version": entry.get("DisplayVersion"),
            "install_dir": entry.get("InstallLocation") or default_dir}


def gather(host: SimHost, params: dict) -> dict:
    product = _product(host, params["install_dir"])
    defender = host.read("defender", {"available": False})
    target = f"{(product.get('install_dir') or params['install_dir']).rstrip(chr(92))}\\PACS\\php\\LicGen.exe"
    page = host.read("web").get(params["login_url"])
    login = {"status": None, "length": 0}
    if page:  # the page stays white without LicGen.exe (SRC-IQW-4)
        ready = host.windows_path(page["requires"]).is_file() if page.get("requires") else True
        login = {"status": page.get("status", 200), "length": len(page["body"]) if ready else 0}
    evidence = host.windows_path(params["evidence_path"])
    return {
        "iqwebx": product,
        "exclusions": (defender.get("exclusions") or {}).get("path", []),
        "environment": host.read("environment"),
        "licgen_present": host.windows_path(target).is_file(),
        "quarantine": [{"threat": q["threat"], "path": q["path"]} for q in defender.get("quarantine", [])],
        "login": login,
        "antivirus": {"signature_age_days": defender.get("signature_age_days")} if defender.get("available") else {},
        "pending_reboot": bool(host.read("windows_update").get("reboot_pending")),
        "detections": [{"time": d.get("time"), "threat": d.get("threat")} for d in defender.get("detections", [])],
        "evidence_text": evidence.read_text(encoding="utf-8") if evidence.is_file() else None,
    }


def apply_change(host: SimHost, change: dict) -> None:
    kind = change.get("kind")
    defender = host.read("defender", {"available": False})
    if kind == "update_signatures":
        defender["signature_age_days"] = 0
    elif kind == "add_exclusion":
        paths = defender.setdefault("exclusions", {}).setdefault("path", [])
        if change["value"].lower() not in (p.lower() for p in paths):
            paths.append(change["value"])
    elif kind == "restore_quarantine":
        excluded = [p.lower() for p in (defender.get("exclusions") or {}).get("path", [])]
        item = next((q for q in defender.get("quarantine", []) if q["path"].lower() == change["path"].lower()), None)
        if item is None:
            raise SimError(f"MpCmdRun -Restore: no quarantined item for {change['path']}")
        data = host.windows_path(item["stored"]).read_bytes()
        atomic_write_bytes(host.windows_path(change["path"]), data)
        defender["quarantine"].remove(item)
        if change["path"].lower() not in excluded:  # stricter than Windows: caught again at once
            host.windows_path(change["path"]).unlink()
            defender["quarantine"].append(item)
    elif kind == "write_artifact":
        data = base64.b64decode(change["content"])
        if hashlib.sha256(data).hexdigest() != change["sha256"]:
            raise SimError("artifact hash mismatch on the host; nothing written")
        atomic_write_bytes(host.windows_path(change["path"]), data)
    elif kind == "write_evidence":
        write_record(host, change["path"], change["content"])
    else:
        raise SimError(f"unknown change kind {kind!r}")
    host.write("defender", defender)


def main():
    run_host_module(AnsibleModule(argument_spec=HOST_ARGUMENT_SPEC, supports_check_mode=True), "iqwebx_licgen",
                    gather, apply_change)


if __name__ == "__main__":
    main()
