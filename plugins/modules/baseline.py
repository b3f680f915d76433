#!/usr/bin/python
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docs of meddev.hardening.baseline, and its simulated-host (winsim) implementation."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: baseline
short_description: The vendor documents' OS-hardening baseline, from a catalog, in two round trips
version_added: 0.1.0
description:
  - Applies a catalog of controls (password and lockout policy, idle lock, AutoRun, removable media,
    SMBv1, RDP, audit policy, event forwarding, NTP, WSUS, services, MS17-010 and BitLocker checks).
  - One call gathers every mechanism (registry values, the security template from C(secedit /export),
    C(auditpol /get /r), services, hotfixes, OS build and update revision (UBR), BitLocker); the controller
    plans; one call applies one batch per mechanism (registry values, one C(secedit /configure) template,
    one C(auditpol /restore) file, services). Check mode and diff (every setting, old and new value);
    audit-only hosts are only read. MS17-010 is judged by OS build and update revision (UBR).
  - Validates before the host is touched - ranges from SRC-PMR-7/8, C(ResetLockoutCount <= LockoutDuration)
    (secedit error 87), services that management or the products need.
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
  catalog:
    description: The control catalog with desired values (the role passes C(baseline_catalog)).
    type: list
    elements: dict
    required: true
  products:
    description: The host's C(meddev_products), for entries with C(applies_to).
    type: list
    elements: str
    default: []
  protected_services:
    description: Services never to disable, besides the built-in list.
    type: list
    elements: str
    default: []
  skip:
    description:
      - "Controls not to apply, each C({id, reason}) (the role passes C(baseline_skip)). A skipped control
        is reported C(not_applicable) with the message C(skipped: <reason>), is not gathered for change
        and never applied."
      - C(id) must be a control id of the catalog (docs/controls.md), listed once; C(reason) is 1-200
        printable characters.
    type: list
    elements: dict
    default: []
  variable_prefix:
    description: Prefix for variable names in error messages.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Baseline from the role's catalog
  ansible.builtin.include_role:
    name: meddev.hardening.baseline
"""

RETURN = r"""
controls:
  description: One entry per catalog control (per service for the service control).
  returned: always
  type: list
  elements: dict
"""

import csv
import io

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.meddev.hardening.plugins.module_utils.baseline import parse_inf
from ansible_collections.meddev.hardening.plugins.module_utils.winsim import SimError, SimHost, run_host_module

HOST_ARGUMENT_SPEC = {
    "phase": {"type": "str", "required": True, "choices": ["gather", "apply"]},
    "registry_values": {"type": "list", "elements": "dict", "default": []},
    "services": {"type": "list", "elements": "str", "default": []},
    "changes": {"type": "list", "elements": "dict", "default": []},
}


def _inf(sections: dict) -> str:
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {v}" for k, v in values.items()]
    return "\r\n".join(lines) + "\r\n"


def _auditpol_csv(state: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Machine Name", "Policy Target", "Subcategory", "Subcategory GUID", "Inclusion Setting",
                     "Exclusion Setting"])
    for guid, item in sorted(state.items()):
        writer.writerow(["SIM", "System", item["name"], guid, item["setting"], ""])
    return out.getvalue()


def _bitlocker(document: dict) -> dict:
    """Get-SystemDriveBitLocker of baseline.ps1: the C: volume, or why it cannot be read.

    bitlocker.json ``module: false`` - no BitLocker module; ``fails: <message>`` - the module is
    there but Get-BitLockerVolume throws (WMI provider or feature absent, access denied)."""
    if document.get("module") is False:
        return {"error": "Get-BitLockerVolume is not available (the BitLocker feature is not installed)"}
    if document.get("fails"):
        return {"error": f"Get-BitLockerVolume -MountPoint C: failed: {document['fails']}"}
    if "C:" not in document:
        return {"error": "Get-BitLockerVolume returned no volume for C:"}
    return document["C:"]


def gather(host: SimHost, params: dict) -> dict:
    registry = host.read("registry")
    lowered = {k.lower(): v for k, v in registry.items()}
    values = {}
    for item in params["registry_values"]:
        key = lowered.get(item["path"].lower(), {})
        match = next((v for n, v in key.items() if n.lower() == item["name"].lower()), None)
        if match is not None:
            values.setdefault(item["path"], {})[item["name"]] = match
    services = host.read("services")
    # hotfixes.json: Get-HotFix ids, the build (CurrentBuildNumber) and the update revision (UBR); a
    # document without "ubr" is a host without the UBR value (null, as Get-OsRevision returns it).
    hotfixes = host.read("hotfixes", {"installed": [], "os_build": 0})
    return {
        "registry": values,
        "secpol_inf": _inf(host.read("secpol")),
        "auditpol_csv": _auditpol_csv(host.read("auditpol")),
        "services": {n: services[n] for n in params["services"] if n in services},
        "hotfixes": hotfixes.get("installed", []),
        "os_build": hotfixes.get("os_build", 0),
        "os_ubr": hotfixes.get("ubr"),
        "bitlocker": _bitlocker(host.read("bitlocker")),
    }


def apply_change(host: SimHost, change: dict) -> None:
    kind = change.get("kind")
    if kind == "set_registry":
        registry = host.read("registry")
        for item in change["values"]:
            key = next((k for k in registry if k.lower() == item["path"].lower()), item["path"])
            registry.setdefault(key, {})[item["name"]] = item["value"]
        host.write("registry", registry)
    elif kind == "apply_secpol":
        current = host.read("secpol")
        access = {**current.get("System Access", {}), **parse_inf(change["inf"]).get("System Access", {})}
        reset, duration = access.get("ResetLockoutCount"), access.get("LockoutDuration")
        if reset is not None and duration is not None and int(reset) > int(duration):
            # What secedit /configure reports, and it changes nothing.
            raise SimError("secedit /configure failed (exit 87): The parameter is incorrect.")
        current["System Access"] = {k: str(v) for k, v in access.items()}
        host.write("secpol", current)
    elif kind == "apply_auditpol":
        state = host.read("auditpol")
        for row in csv.DictReader(io.StringIO(change["csv"])):
            state[row["Subcategory GUID"].upper()] = {"name": row["Subcategory"], "setting": row["Inclusion Setting"]}
        host.write("auditpol", state)
    elif kind == "disable_services":
        services = host.read("services")
        for name in change["services"]:
            services[name] = {**services.get(name, {}), "StartType": "Disabled", "Status": "Stopped"}
        host.write("services", services)
    else:
        raise SimError(f"unknown change kind {kind!r}")


def main():
    run_host_module(AnsibleModule(argument_spec=HOST_ARGUMENT_SPEC, supports_check_mode=True), "baseline",
                    gather, apply_change)


if __name__ == "__main__":
    main()
