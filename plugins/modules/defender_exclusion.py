#!/usr/bin/python
# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docs of meddev.hardening.defender_exclusion, and its simulated-host (winsim) implementation."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: defender_exclusion
short_description: Microsoft Defender exclusions that vendor documents require, each with its source
version_added: 0.1.0
description:
  - Manages Defender path, process and extension exclusions in one gather and at most one apply.
    Compares case-insensitively, after expanding environment variables with the host's values and
    dropping trailing backslashes.
  - Records on the host which exclusions it added; O(exclusive) and O(state=absent) remove only
    those, never anyone else's.
  - Reports what makes local exclusions ineffective or unmanageable - C(DisableLocalAdminMerge),
    exclusions set by Group Policy, exclusion lists hidden from local administrators
    (C(HideExclusionsFromLocalAdmins)), Defender missing or in passive mode - and third-party antivirus
    products (C(manual), with the exact list to enter in that product's console).
  - Refuses to change anything on Carestream DirectView (SRC-CS-6) and ImageView (host-based IPS, SRC-CS-4)
    hosts; audit-only hosts are read.
  - Removes exclusions that earlier versions of this collection added but no vendor source asks for (O(retired),
    e.g. C(C:\Illumina), a misread of SRC-LRM-6) where its ownership record lists them; reports them otherwise.
  - Every exclusion in the result carries its vendor source; security teams alert on exclusion changes.
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
  state:
    description: C(present) adds the exclusions; C(absent) removes those this collection added.
    type: str
    choices: [present, absent]
    default: present
  exclusions:
    description:
      - Exclusions with C(kind) (path, process, extension), C(value), C(source) (SRC ids), C(product).
      - Optional C(variable) names where an item came from in errors, C(name) (the value itself) or C(name[])
        (an item of a list); the role sets it, so a refused value names the role variable.
    type: list
    elements: dict
    default: []
  exclusive:
    description: Remove exclusions this collection added earlier that are no longer declared.
    type: bool
    default: false
  products:
    description:
      - The host's C(meddev_products); C(carestream_directview) or C(carestream_imageview) makes the module refuse to
        change anything.
    type: list
    elements: str
    default: []
  owner_record:
    description: File on the host that lists the exclusions this collection added.
    type: str
    required: true
  retired:
    description:
      - Exclusions that no vendor source asks for, each C(kind), C(value), C(source) (the SRC id it was wrongly
        cited for) and C(reason). Removed when the ownership record lists them (this collection added them),
        otherwise reported as C(manual) and left in place. Ignored when also declared in O(exclusions).
        Optional C(variable) names the role variable a refused value came from.
    type: list
    elements: dict
    default: []
  variable_prefix:
    description:
      - Internal. Set by the C(meddev.hardening.av_exclusions) role (to C(av_exclusions_));
        leave it unset when calling the module directly.
      - Prefix that error messages put before an option's name, so that they name the variable a
        role user sets (C(av_exclusions_<option>)) rather than the module option.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Exclude iQ-WEBX's LicGen.exe (SRC-IQW-9)
  meddev.hardening.defender_exclusion:
    owner_record: C:\ProgramData\meddev.hardening\defender_exclusions.json
    exclusions:
      - {kind: path, value: 'C:\Program Files\iQ-WEBX\PACS\php\LicGen.exe', source: [SRC-IQW-9], product: iqwebx}
"""

RETURN = r"""
exclusions_changed:
  description: Every exclusion added or removed, with its source.
  returned: always
  type: list
  elements: dict
"""


from ansible.module_utils.basic import AnsibleModule

from ansible_collections.meddev.hardening.plugins.module_utils.defender import is_placeholder
from ansible_collections.meddev.hardening.plugins.module_utils.winsim import (
    SimError,
    SimHost,
    defender_exclusion_lists,
    run_host_module,
    write_record,
)

HOST_ARGUMENT_SPEC = {
    "phase": {"type": "str", "required": True, "choices": ["gather", "apply"]},
    "owner_record": {"type": "str", "required": True},
    "third_party_services": {"type": "dict", "default": {}},
    "changes": {"type": "list", "elements": "dict", "default": []},
}
POLICY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender\\Exclusions\\"
POLICY_KEYS = {"path": "Paths", "process": "Processes", "extension": "Extensions"}
ENVIRONMENT = {"ProgramFiles": "C:\\Program Files", "ProgramFiles(x86)": "C:\\Program Files (x86)",
               "ProgramData": "C:\\ProgramData", "SystemDrive": "C:", "SystemRoot": "C:\\Windows"}


def gather(host: SimHost, params: dict) -> dict:
    defender = host.read("defender", {"available": False})
    registry = host.read("registry")
    policy = {kind: sorted(registry.get(POLICY + key, {})) for kind, key in POLICY_KEYS.items()}
    services = host.read("services")
    third = [{"name": p, "source": "SecurityCenter2"} for p in host.read("security_center").get("antivirus", [])
             if "defender" not in p.lower()]
    third += [{"name": product, "source": f"service {name}"}
              for name, product in sorted(params["third_party_services"].items())
              if (services.get(name) or {}).get("Status") == "Running"]
    record = host.windows_path(params["owner_record"])
    available = bool(defender.get("available"))  # AMServiceEnabled
    # As the .ps1: the lists Get-MpPreference shows; a placeholder (hidden by policy) is never an exclusion.
    shown = defender_exclusion_lists(host) if available else {k: [] for k in POLICY_KEYS}
    hidden = any(is_placeholder(v) for values in shown.values() for v in values)
    return {
        "defender": {"available": available, "running_mode": defender.get("running_mode") if available else None,
                     "disable_local_admin_merge": available and bool(defender.get("disable_local_admin_merge"))},
        "exclusions": {k: [] for k in POLICY_KEYS} if hidden else shown,
        "exclusions_hidden": hidden,
        "policy": policy,
        "third_party": third,
        "owned_text": record.read_text(encoding="utf-8") if record.is_file() else None,
        "environment": {**ENVIRONMENT, **host.read("environment")},
    }


def apply_change(host: SimHost, change: dict) -> None:
    """Add-MpPreference / Remove-MpPreference semantics: the value is data, stored as given."""
    kind = change.get("kind")
    if kind == "record_owned":
        write_record(host, change["path"], change["content"])
        return
    defender = host.read("defender", {"available": False})
    if not defender.get("available"):
        raise SimError("Add-MpPreference: the Defender service is not running (0x800106ba)")
    values = defender.setdefault("exclusions", {}).setdefault(change["exclusion_kind"], [])
    matching = [v for v in values if v.lower() == change["value"].lower()]
    if kind == "add" and not matching:
        values.append(change["value"])
    elif kind == "remove":
        for value in matching:
            values.remove(value)
    elif kind not in ("add", "remove"):
        raise SimError(f"unknown change kind {kind!r}")
    host.write("defender", defender)


def main():
    run_host_module(AnsibleModule(argument_spec=HOST_ARGUMENT_SPEC, supports_check_mode=True), "defender_exclusion",
                    gather, apply_change)


if __name__ == "__main__":
    main()
