# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The version of this collection, from MANIFEST.json (installed) or galaxy.yml (checkout)."""

from __future__ import annotations

import functools
import json
import pathlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


@functools.lru_cache(maxsize=1)
def collection_version() -> str:
    manifest = ROOT / "MANIFEST.json"
    if manifest.is_file():
        return json.loads(manifest.read_text(encoding="utf-8"))["collection_info"]["version"]
    galaxy = ROOT / "galaxy.yml"
    if galaxy.is_file():
        return str(yaml.safe_load(galaxy.read_text(encoding="utf-8"))["version"])
    return "unknown"
