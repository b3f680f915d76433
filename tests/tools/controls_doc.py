# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generate docs/controls.md from the baseline catalog (roles/baseline/defaults/main/main.yml).

Usage: python tests/tools/controls_doc.py > docs/controls.md
tests/unit/test_baseline_catalog.py fails when the committed file differs from this output.
"""

from __future__ import annotations

import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CATALOG = ROOT / "roles" / "baseline" / "defaults" / "main" / "main.yml"
DEFAULTS = ROOT / "roles" / "baseline" / "defaults" / "main" / "main.yml"


def _where(entry: dict) -> str:
    mechanism = entry["mechanism"]
    if mechanism == "registry":
        return f"`{entry['path']}` `{entry['name']}`"
    if mechanism == "secpol":
        return f"`[System Access]` `{entry['key']}`"
    if mechanism == "auditpol":
        return f"subcategory `{entry['guid']}`"
    return {"service": "service start type", "hotfix": "installed updates / OS build",
            "bitlocker": "`Get-BitLockerVolume` system drive"}[mechanism]


def _desired(entry: dict, defaults: dict) -> str:
    variable = entry.get("variable")
    value = entry.get("value")
    if isinstance(value, str) and "{{" in value and variable:
        default = defaults.get(variable)
        shown = default if not (isinstance(default, str) and "{{" in default) else "product-dependent"
        text = f"`{variable}` (default `{shown}`)"
    else:
        text = f"`{value}`"
    if entry.get("range"):
        text += f", {entry['range'][0]}-{entry['range'][1]}"
    if entry.get("scale"):
        text += f", x{entry['scale']}"
    return text


def render() -> str:
    catalog = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))["baseline_catalog"]
    defaults = yaml.safe_load(DEFAULTS.read_text(encoding="utf-8"))
    lines = [
        "# Baseline controls",
        "",
        "Generated from `roles/baseline/defaults/main/main.yml` by `tests/tools/controls_doc.py`; do not edit by hand",
        "(`tests/unit/test_baseline_catalog.py` fails when this file is stale).",
        "",
        "| id | title | sources | reference | mechanism | where | desired | applies when | check-only |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for entry in catalog:
        enabled = entry.get("enabled")
        when = "always" if enabled is None else re.sub(r"[{}]", "", str(enabled)).strip()
        lines.append("| {id} | {title} | {source} | {ref} | {mech} | {where} | {desired} | {when} | {check} |".format(
            id=entry["id"], title=entry["title"], source=", ".join(entry.get("source") or []),
            ref=entry.get("reference", ""), mech=entry["mechanism"], where=_where(entry).replace("|", "\\|"),
            desired=_desired(entry, defaults).replace("|", "\\|"), when=when.replace("|", "\\|"),
            check="yes" if entry.get("report_only") else ""))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
