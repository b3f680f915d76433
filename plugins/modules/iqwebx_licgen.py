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
    Defender's quarantine store (SRC-IQW-7; C(MpCmdRun -Restore -FilePath), only what C(-ListAll) lists),
    or else copies the distributor artifact chosen by the full iQ-X version, verified by SHA-256 on the
    controller and on the host (SRC-IQW-8). No artifact for that version fails with the message to contact
    the distributor quoting the version. Nothing is downloaded.
  - After a restore, scans C(<install>\PACS) with Defender in the same apply (C(Start-MpScan -ScanType CustomScan),
    which waits for the scan) and reports the threats it found (C(Get-MpThreatDetection) since the scan started);
    threats found or an unfinished scan are drift and the next apply scans again (SRC-IQW-2, -3, -7).
  - Checks from the host that the iQ-WEB login page returns 200 with a login form; an empty or form-less page is the
    white page of the notice (drift); iQ-X and iQ-4VIEW must answer when their URLs are set (SRC-IQW-4). Updates
    stale antivirus definitions (SRC-IQW-1); reports a pending restart without ever forcing one (SRC-IQW-2)
    and recent detections (SRC-IQW-3); records every step in an evidence file (SRC-IQW-10).
  - Third-party antivirus (Kaspersky, McAfee/Trellix; Security Center on clients, services) is reported C(manual)
    with that product's own documented exclusion and quarantine-restore steps for LicGen.exe.
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
  iqx_url:
    description: iQ-X's URL, requested from the host; empty means not configured (not checked).
    type: str
    default: ""
  iq4view_url:
    description: iQ-4VIEW's URL, requested from the host; empty means not configured (not checked).
    type: str
    default: ""
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
    description:
      - Internal. Set by the C(meddev.hardening.iqwebx_licgen) role (to C(iqwebx_licgen_));
        leave it unset when calling the module directly.
      - Prefix that error messages put before an option's name, so that they name the variable a
        role user sets (C(iqwebx_licgen_<option>)) rather than the module option.
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
import datetime
import hashlib
import json
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.meddev.hardening.plugins.module_utils.defender import is_placeholder
from ansible_collections.meddev.hardening.plugins.module_utils.iqwebx import is_excluded
from ansible_collections.meddev.hardening.plugins.module_utils.winsim import (
    SimError,
    SimHost,
    atomic_write_bytes,
    defender_exclusion_lists,
    run_host_module,
    write_record,
)

HOST_ARGUMENT_SPEC = {
    "phase": {"type": "str", "required": True, "choices": ["gather", "apply"]},
    "install_dir": {"type": "str", "required": True},
    "login_url": {"type": "str", "required": True},
    "evidence_path": {"type": "str", "required": True},
    "pages": {"type": "dict", "default": {}},
    "scan_record": {"type": "str", "required": True},
    "third_party_services": {"type": "dict", "default": {}},
    "changes": {"type": "list", "elements": "dict", "default": []},
}
QUARANTINE_DATA = "C:\\ProgramData\\Microsoft\\Windows Defender\\Quarantine\\ResourceData"
# A login page has its form: `<form` then a space, '>' or '/' (as $loginForm in iqwebx_licgen.ps1; a test compares).
LOGIN_FORM = r"<form[\s>/]"
ENVIRONMENT = {"ProgramFiles": "C:\\Program Files", "ProgramFiles(x86)": "C:\\Program Files (x86)",
               "ProgramData": "C:\\ProgramData", "SystemDrive": "C:"}
POLICY_PATHS = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender\\Exclusions\\Paths"
# `MpCmdRun -Restore -ListAll` lines, parsed by iqwebx_licgen.ps1 with the same patterns ($quarantineThreatLine,
# $quarantineFileLine; a test compares them): "ThreatName = <name>", then "      file:<path> quarantined at <time>".
QUARANTINE_THREAT_LINE = r"^ThreatName = (.+?)\s*$"
QUARANTINE_FILE_LINE = r"^\s+file:(.+) quarantined at "
# MpCmdRun's documented -Restore options (defender-docs command-line-arguments-microsoft-defender-antivirus.md):
# -Restore [-ListAll | [[-Name <name>] [-All] | [-FilePath <filePath>]] [-Path <path>]]
RESTORE_VALUES = {"-name", "-filepath", "-path"}
RESTORE_FLAGS = {"-listall", "-all"}
NOT_FOUND = 2, "CmdTool: Failed with hr = 0x80508019 (ERROR_MP_NOT_FOUND): no quarantined item matches"


def restore_arguments(change: dict) -> list:
    """MpCmdRun's arguments for a restore_quarantine change, exactly as iqwebx_licgen.ps1 builds them."""
    return ["-Restore", "-FilePath", change["path"]]


def _product(host: SimHost, default_dir: str) -> dict:
    entry = host.uninstall_entry(lambda name: name.lower().startswith(("iq-webx", "iq-x")))
    if entry is None:
        # As iqwebx_licgen.ps1: no uninstall entry, but <install_dir>\PACS exists -> installed, version unknown.
        if host.windows_path(f"{default_dir.rstrip(chr(92))}\\PACS").is_dir():
            return {"installed": True, "version": None, "install_dir": default_dir}
        return {"installed": False}
    return {"installed": True, "version": entry.get("DisplayVersion"),
            "install_dir": entry.get("InstallLocation") or default_dir}


def _request(host: SimHost, url: str) -> dict:
    """Invoke-WebRequest from the host: the lab's `web` pages; a page that `requires` a missing file is the
    white page of the notice (HTTP 200, empty body). Length after Trim(), as the .ps1."""
    page = host.read("web").get(url)
    if not page:
        return {"status": None, "length": 0, "form": False}
    ready = host.windows_path(page["requires"]).is_file() if page.get("requires") else True
    body = str(page.get("body", "")) if ready else ""
    return {"status": page.get("status", 200), "length": len(body.strip()),
            "form": bool(re.search(LOGIN_FORM, body, re.IGNORECASE))}


def _third_party(host: SimHost, services_map: dict) -> list:
    """As defender_exclusion's twin: Security Center products (clients) and running services."""
    services = host.read("services")
    third = [{"name": p, "source": "SecurityCenter2"} for p in host.read("security_center").get("antivirus", [])
             if "defender" not in p.lower()]
    return third + [{"name": product, "source": f"service {name}"} for name, product in sorted(services_map.items())
                    if (services.get(name) or {}).get("Status") == "Running"]


def parse_quarantine_listing(text: str) -> list:
    """The quarantine store from `MpCmdRun -Restore -ListAll` output, as iqwebx_licgen.ps1 reads it."""
    items, threat = [], None
    for line in re.split(r"\r?\n", text):
        found = re.search(QUARANTINE_THREAT_LINE, line, re.IGNORECASE)
        if found:
            threat = found.group(1)
            continue
        found = re.search(QUARANTINE_FILE_LINE, line, re.IGNORECASE)
        if found and threat is not None:
            items.append({"threat": threat, "path": found.group(1)})
    return items


def gather(host: SimHost, params: dict) -> dict:
    product = _product(host, params["install_dir"])
    defender = host.read("defender", {"available": False})
    target = f"{(product.get('install_dir') or params['install_dir']).rstrip(chr(92))}\\PACS\\php\\LicGen.exe"
    login = _request(host, params["login_url"])
    evidence = host.windows_path(params["evidence_path"])
    scan = host.windows_path(params["scan_record"])
    state = {
        "iqwebx": product, "exclusions": [], "exclusions_hidden": False,
        "environment": {**ENVIRONMENT, **host.read("environment")},
        "licgen_present": host.windows_path(target).is_file(),
        "quarantine": [], "quarantine_error": None, "login": login, "antivirus": {},
        "pending_reboot": bool(host.read("windows_update").get("reboot_pending")), "detections": [],
        "evidence_text": evidence.read_text(encoding="utf-8") if evidence.is_file() else None,
        "pages": {key: {k: v for k, v in _request(host, url).items() if k != "form"}
                  for key, url in sorted(params["pages"].items())},
        "scan_text": scan.read_text(encoding="utf-8") if scan.is_file() else None,
        "third_party": _third_party(host, params["third_party_services"]),
    }
    if defender.get("available"):  # AMServiceEnabled
        paths = defender_exclusion_lists(host)["path"]
        hidden = any(is_placeholder(p) for p in paths)
        rc, listing = mpcmdrun(host, ["-Restore", "-ListAll"])
        items = parse_quarantine_listing(listing)
        state.update(
            exclusions=[] if hidden else paths, exclusions_hidden=hidden,
            antivirus={"signature_age_days": int(defender.get("signature_age_days") or 0)},  # [int]$null is 0
            # The detection history (Get-MpThreatDetection): removed, allowed and restored items stay in it.
            detections=[{"time": d.get("time"), "threat": d.get("threat"), "resources": list(d.get("resources") or [])}
                        for d in defender.get("detections", [])],
            quarantine=items,
            quarantine_error=f"MpCmdRun -Restore -ListAll exit {rc}: {listing.strip().splitlines()[0]}"
            if rc and not items else None)
    return state


# -- MpCmdRun.exe -Restore, modelled on its documented grammar -------------------------------------------------

def mpcmdrun(host: SimHost, argv: list) -> tuple:
    """(exit code, output) of `MpCmdRun.exe <argv>`. Only -Restore is modelled; stricter than Windows where unsure:
    an undocumented combination (-Name with -FilePath, -ListAll with anything) is refused."""
    defender = host.read("defender", {"available": False})
    if not defender.get("available"):
        return 2, "CmdTool: Failed with hr = 0x800106ba. The Microsoft Defender Antivirus service is not running."
    try:
        options = _restore_options(argv)
    except ValueError as error:
        return 2, f"CmdTool: Failed with hr = 0x80070057 (invalid argument): {error}"
    if "-listall" in options:
        return 0, _listing(defender.get("quarantine", []))
    return _restore(host, defender, options)


def _restore_options(argv: list) -> dict:
    """Option (lower case) -> value or True, for a command line that follows the documented -Restore grammar."""
    if not argv or str(argv[0]).lower() != "-restore":
        raise ValueError(f"winsim models only -Restore, not {argv[:1]}")
    options, words = {}, [str(word) for word in argv[1:]]
    while words:
        word = words.pop(0).lower()
        if word in options or word not in RESTORE_VALUES | RESTORE_FLAGS:
            raise ValueError(f"unexpected option {word}")
        if word in RESTORE_VALUES and (not words or words[0].startswith("-")):
            raise ValueError(f"{word} needs a value")
        options[word] = words.pop(0) if word in RESTORE_VALUES else True
    if "-listall" in options and len(options) > 1:
        raise ValueError("-ListAll takes no other option")
    if "-filepath" in options and {"-name", "-all"} & set(options):
        raise ValueError("-FilePath cannot be combined with -Name or -All")
    if not {"-listall", "-filepath", "-name", "-all"} & set(options):
        raise ValueError("nothing to restore")
    return options


def _listing(store: list) -> str:
    if not store:
        return "No quarantined items.\r\n"
    lines = ["The following items are quarantined:", ""]
    for threat in dict.fromkeys(item["threat"] for item in store):
        lines.append(f"ThreatName = {threat}")
        lines += [f"      file:{item['path']} quarantined at {_shown_time(item.get('time'))} (UTC)"
                  for item in store if item["threat"] == threat]
        lines.append("")
    return "\r\n".join(lines) + "\r\n"


def _shown_time(stamp) -> str:
    """The time as MpCmdRun prints it: the host's culture (en-US here), never parsed by the modules."""
    try:
        moment = datetime.datetime.strptime(str(stamp), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        moment = datetime.datetime(2017, 9, 14, 8, 12, 41)
    return f"{moment.month}/{moment.day}/{moment.year} {moment.strftime('%I:%M:%S %p').lstrip('0')}"


def _restore(host: SimHost, defender: dict, options: dict) -> tuple:
    store = defender.get("quarantine", [])
    if "-filepath" in options:  # the quarantined file by its original path (a folder matches nothing)
        chosen = [q for q in store if q["path"].lower() == options["-filepath"].lower()][-1:]
    else:
        named = [q for q in store if "-name" not in options or q["threat"].lower() == options["-name"].lower()]
        chosen = named if "-all" in options else named[-1:]
    if not chosen:
        return NOT_FOUND
    lines = ["Restoring the following quarantined items:", ""]
    for item in chosen:
        path = item["path"]
        if "-path" in options:
            path = options["-path"].rstrip("\\") + "\\" + item["path"].rsplit("\\", 1)[-1]
        atomic_write_bytes(host.windows_path(path), host.windows_path(item["stored"]).read_bytes())
        store.remove(item)
        lines += [f"ThreatName = {item['threat']}", f"   file:{item['path']} was restored"]
        if not _excluded(host, defender, path):  # stricter than Windows: real-time protection catches it at once
            host.windows_path(path).unlink()
            store.append({**item, "path": path, "time": _now()})
            defender.setdefault("detections", []).append({"time": _now(), "threat": item["threat"],
                                                          "resources": [f"file:_{path}"], "action_success": True})
    defender["quarantine"] = store
    host.write("defender", defender)
    return 0, "\r\n".join(lines) + "\r\n"


def _excluded(host: SimHost, defender: dict, path: str) -> bool:
    """Defender's effective path exclusions cover ``path``: policy ones, local ones unless DisableLocalAdminMerge."""
    registry = host.read("registry")
    policy = next((sorted(v) for k, v in registry.items() if k.lower() == POLICY_PATHS.lower()), [])
    local = [] if defender.get("disable_local_admin_merge") else (defender.get("exclusions") or {}).get("path", [])
    return is_excluded(path, [*policy, *local], {**ENVIRONMENT, **host.read("environment")})


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def start_mpscan(host: SimHost, folder: str, record: str) -> None:
    """Start-MpScan -ScanType CustomScan -ScanPath <folder>: synchronous (no -AsJob). The record is written before
    (finished null) and after, as iqwebx_licgen.ps1 does. What the lab's definitions flag (defender.flagged:
    [{path, threat}]) under the folder and not excluded is detected and quarantined."""
    defender = host.read("defender", {"available": False})
    if not defender.get("available"):
        raise SimError("Start-MpScan: the Defender service is not running (0x800106ba)")
    if not host.windows_path(folder).exists():  # stricter than Windows where unsure: a missing path is an error
        raise SimError(f"Start-MpScan: cannot find path {folder}")
    started = _now()
    write_record(host, record, json.dumps({"path": folder, "started": started, "finished": None}) + "\n")
    prefix = folder.lower().rstrip("\\") + "\\"
    for item in defender.get("flagged", []):
        path = item["path"]
        target = host.windows_path(path)
        if not path.lower().startswith(prefix) or not target.is_file() or _excluded(host, defender, path):
            continue
        stored = f"{QUARANTINE_DATA}\\{hashlib.sha256(path.lower().encode()).hexdigest()[:16].upper()}"
        atomic_write_bytes(host.windows_path(stored), target.read_bytes())
        target.unlink()
        defender.setdefault("quarantine", []).append({"threat": item["threat"], "path": path, "time": _now(),
                                                      "stored": stored})
        defender.setdefault("detections", []).append({"time": _now(), "threat": item["threat"],
                                                      "resources": [f"file:_{path}"], "action_success": True})
    host.write("defender", defender)
    write_record(host, record, json.dumps({"path": folder, "started": started, "finished": _now()}) + "\n")


def apply_change(host: SimHost, change: dict) -> None:
    kind = change.get("kind")
    if kind == "scan":
        start_mpscan(host, change["path"], change["record"])
        return
    if kind == "restore_quarantine":
        rc, output = mpcmdrun(host, restore_arguments(change))
        if rc != 0 or not host.windows_path(change["path"]).is_file():
            raise SimError(f"MpCmdRun -Restore did not bring back {change['path']} (rc {rc}): {output.strip()}")
        return
    defender = host.read("defender", {"available": False})
    if kind == "update_signatures":
        defender["signature_age_days"] = 0
    elif kind == "add_exclusion":
        paths = defender.setdefault("exclusions", {}).setdefault("path", [])
        if change["value"].lower() not in (p.lower() for p in paths):
            paths.append(change["value"])
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
