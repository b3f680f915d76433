# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generate docs/controls.md from the baseline catalog (roles/baseline/defaults/main/*.yml).

Usage: python tests/tools/controls_doc.py > docs/controls.md
tests/unit/test_baseline_catalog.py fails when the committed file differs from this output.
"""

from __future__ import annotations

import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULTS_DIR = ROOT / "roles" / "baseline" / "defaults" / "main"
PROFILES = ("workgroup", "member_server")


def defaults() -> dict:
    """Every role default of roles/baseline, as Ansible loads the defaults/main/ folder (files in name order)."""
    merged = {}
    for path in sorted(DEFAULTS_DIR.glob("*.yml")):
        merged.update(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return merged


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _where(entry: dict) -> str:
    mechanism = entry["mechanism"]
    if mechanism in ("registry", "secopt"):
        via = " (secedit [Registry Values])" if mechanism == "secopt" else ""
        return f"`{entry['path']}` `{entry['name']}` {entry.get('type', 'str')}{via}"
    if mechanism == "secpol":
        return f"`[System Access]` `{entry['key']}`"
    if mechanism == "user_right":
        return f"`[Privilege Rights]` `{entry['right']}`"
    if mechanism == "auditpol":
        return f"audit subcategory `{entry['guid']}`"
    if mechanism == "evidence":  # check-only evidence (issue 14), plugins/module_utils/baseline_evidence.py
        return f"gathered evidence `{entry['evidence']}` (check-only)"
    return {"service": "service start type", "hotfix": "installed updates / OS build",
            "bitlocker": "`Get-BitLockerVolume` system drive"}[mechanism]


def _shown(value) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(none)"
    if value == "":
        return '""'
    return str(value)


def _vendor_value(entry: dict, known: dict) -> str:
    variable, value = entry.get("variable"), entry.get("value")
    if isinstance(value, str) and "{{" in value and variable:
        default = known.get(variable)
        shown = default if not (isinstance(default, str) and "{{" in default) else "product-dependent"
        text = f"`{variable}` (default `{shown}`)"
    else:
        text = f"`{value}`"
    if entry.get("scale"):
        text += f", x{entry['scale']}"
    return text


def _profile_value(entry: dict, profile: str) -> str:
    values = entry.get("values") or {}
    if profile not in values:
        return "-"
    if entry.get("report_only"):
        return "site choice (baseline_values)"
    text = _shown(values[profile])
    expect = (entry.get("expect") or {}).get(profile)
    if expect and expect != {"equals": values[profile]}:
        (shape, operand), = expect.items()
        text += f" (accepts {shape} {_shown(operand) if not isinstance(operand, list) else operand})"
    return text


def _range(entry: dict) -> str:
    low, high = (entry.get("range") or (None, None))
    if low is None:
        return ""
    return f"{low}-{high}" if high is not None else f"{low} or more"


def _excepted(entry: dict, conflicts: dict) -> str:
    products = [p for p, items in conflicts.items() if any(i.get("id") == entry["id"] for i in items or [])]
    notes = [f"{p} ({next(i['source'] for i in conflicts[p] if i.get('id') == entry['id'])})" for p in products]
    if entry.get("delegate"):
        notes.append(f"delegated to role {entry['delegate']}")
    if entry.get("management_guard"):
        notes.append(f"kept when managed as {entry['management_guard']}")
    return ", ".join(notes)


def _vendor_table(catalog: list, known: dict, conflicts: dict) -> list:
    lines = ["| id | title | sources | MS name | CIS | mechanism: where | value | range | applies when | excepted |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for entry in catalog:
        enabled = entry.get("enabled")
        when = "always" if enabled is None else re.sub(r"[{}]", "", str(enabled)).strip()
        if entry.get("report_only"):
            when += " (check-only)"
        lines.append("| " + " | ".join(_cell(c) for c in (
            entry["id"], entry["title"], ", ".join(entry.get("source") or []), entry.get("ms_name", ""),
            entry.get("reference", ""), f"{entry['mechanism']}: {_where(entry)}", _vendor_value(entry, known),
            _range(entry), when, _excepted(entry, conflicts))) + " |")
    return lines


def _ms_table(catalog: list, conflicts: dict) -> list:
    lines = []
    for category in sorted({e.get("category", "other") for e in catalog}):
        lines += ["", f"### {category}", "",
                  "| id | title | MS name | CIS | severity | mechanism: where | workgroup | member_server | range "
                  "| min build | excepted |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for entry in (e for e in catalog if e.get("category", "other") == category):
            lines.append("| " + " | ".join(_cell(c) for c in (
                entry["id"], entry["title"], entry.get("ms_name", ""), entry.get("reference", ""),
                entry.get("severity", ""), f"{entry['mechanism']}: {_where(entry)}",
                _profile_value(entry, "workgroup"), _profile_value(entry, "member_server"), _range(entry),
                entry.get("min_build", ""), _excepted(entry, conflicts))) + " |")
    return lines


def render() -> str:
    known = defaults()
    conflicts = known.get("baseline_product_conflicts") or {}
    vendor, microsoft = known.get("baseline_catalog") or [], known.get("baseline_ms_catalog") or []
    lines = [
        "# Baseline controls",
        "",
        "Generated from `roles/baseline/defaults/main/*.yml` by `tests/tools/controls_doc.py`; do not edit by hand",
        "(`tests/unit/test_baseline_catalog.py` fails when this file is stale).",
        "",
        f"{len(vendor)} vendor controls and {len(microsoft)} controls of Microsoft's security baseline "
        "(MS-BASELINE-WS2025-2510, docs/baseline-coverage.md), all checked in one gather and applied in at most "
        "one apply per host. Change a value with `baseline_values: {<id>: <value>}` (checked against the range), "
        "except a control with `baseline_skip: [{id, reason}]`; product exceptions are in "
        "docs/baseline-compatibility.md. `BL-PROFILE` (computed, not in the catalog) checks that "
        "`baseline_profile` matches the host's domain membership.",
        "",
        "## Vendor controls (baseline_catalog)",
        "",
        *_vendor_table(vendor, known, conflicts),
        "",
        "## Microsoft security baseline (baseline_ms_catalog)",
        "",
        "workgroup / member_server: the value apply sets for `baseline_profile` (\"accepts\": what is compliant "
        "without a change); `-`: not part of that profile (not_applicable).",
        *_ms_table(microsoft, conflicts),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
