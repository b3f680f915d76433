# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Windows file formats the baseline reads and writes: security templates and auditpol files. No I/O."""

from __future__ import annotations

import csv
import io

AUDIT_SETTINGS = {"no_auditing": ("No Auditing", 0), "success": ("Success", 1), "failure": ("Failure", 2),
                  "success_and_failure": ("Success and Failure", 3)}
AUDIT_NAMES = {v[0].lower(): k for k, v in AUDIT_SETTINGS.items()}
# Security template [Registry Values] type codes (the REG_* numbers): REG_SZ 1, REG_EXPAND_SZ 2, REG_BINARY 3,
# REG_DWORD 4, REG_MULTI_SZ 7 (secedit writes them as "<type>,<data>").
INF_TYPES = {"string": 1, "expand_string": 2, "binary": 3, "dword": 4, "multi_string": 7}


def parse_inf(text: str) -> dict:
    """A security template (secedit /export) as {section: {key: value}}."""
    sections, current = {}, None
    for raw in (text or "").splitlines():
        line = raw.strip().lstrip("\ufeff")
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
        elif current is not None and "=" in line and not line.startswith(";"):
            key, _sep, value = line.partition("=")
            current[key.strip()] = value.strip()
    return sections


def parse_rights(section: dict) -> dict:
    """[Privilege Rights] as {constant: [holders]} ("*S-1-5-32-544" for a SID, else the account name)."""
    return {key: [h.strip() for h in value.split(",") if h.strip()] for key, value in section.items()}


def inf_registry_line(path: str, name: str, kind: str, value) -> str:
    """One [Registry Values] line: MACHINE\\<key>\\<name>=<type>,<data> (HKLM is MACHINE in a template)."""
    hive, _sep, rest = path.partition("\\")
    if hive.upper() not in ("HKLM", "HKEY_LOCAL_MACHINE"):
        raise ValueError(f"{path}: a security template sets HKLM values only")
    if kind == "multi_string":
        data = ",".join(str(v) for v in value)
    elif kind in ("string", "expand_string"):
        data = '"' + str(value) + '"'
    elif kind == "dword":
        data = str(int(value))
    else:
        raise ValueError(f"{path}\\{name}: type {kind} cannot be set through a security template")
    return f"MACHINE\\{rest}\\{name}={INF_TYPES[kind]},{data}"


def render_inf(system_access: dict, rights: dict | None = None, registry: list | None = None) -> str:
    """One template for secedit /configure /areas SECURITYPOLICY USER_RIGHTS (the host writes it UTF-16LE).

    ``rights``: {constant: [holders]} ([] = no one: the right is defined and empty); ``registry``: lines from
    inf_registry_line. Only the sections with something to set are written."""
    lines = ["[Unicode]", "Unicode=yes"]
    if system_access:
        lines += ["[System Access]"] + [f"{key} = {value}" for key, value in system_access.items()]
    if rights:
        lines += ["[Privilege Rights]"] + [f"{key} = {','.join(holders)}".rstrip() for key, holders in rights.items()]
    if registry:
        lines += ["[Registry Values]", *registry]
    lines += ["[Version]", 'signature="$CHICAGO$"', "Revision=1", ""]
    return "\r\n".join(lines)


def parse_auditpol(text: str) -> dict:
    """auditpol /get /category:* /r (CSV) as {GUID upper: setting name}."""
    out = {}
    for row in csv.DictReader(io.StringIO((text or "").lstrip("\ufeff"))):
        guid = (row.get("Subcategory GUID") or "").strip().upper()
        if guid:
            out[guid] = AUDIT_NAMES.get((row.get("Inclusion Setting") or "").strip().lower(), "no_auditing")
    return out


def render_auditpol(settings: dict) -> str:
    """An auditpol /restore file setting only the given subcategories."""
    rows = ["Machine Name,Policy Target,Subcategory,Subcategory GUID,Inclusion Setting,Exclusion Setting,Setting Value"]
    for guid, (name, setting) in settings.items():
        label, number = AUDIT_SETTINGS[setting]
        rows.append(f",System,{name},{guid},{label},,{number}")
    return "\r\n".join(rows) + "\r\n"
