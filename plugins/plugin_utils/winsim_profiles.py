# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Named seed profiles for simulated hosts (tests/fixtures/profiles/<name>.yml)."""

from __future__ import annotations

import pathlib
import re

import yaml

PROFILE_DIR = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "profiles"
FIXTURE_DIR = PROFILE_DIR.parent
PROFILE_NAME = re.compile(r"^[a-z0-9_]+$")


def available() -> list:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yml"))


def load(name: str, profile_dir=None) -> dict:
    """Return the profile document; raise ValueError naming the allowed profiles."""
    directory = pathlib.Path(profile_dir) if profile_dir else PROFILE_DIR
    path = directory / f"{name}.yml"
    if not PROFILE_NAME.match(str(name)) or not path.is_file():
        names = sorted(p.stem for p in directory.glob("*.yml"))
        raise ValueError(f"winsim_profile: unknown profile {name!r}; allowed: {', '.join(names)}")
    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle) or {}
    if not isinstance(document, dict) or not isinstance(document.get("state", {}), dict):
        raise ValueError(f"winsim profile {path}: expected a mapping with 'state' and 'files'")
    if document.get("base"):  # a shared Windows base the profile overrides, subsystem by subsystem
        base = load_base(str(document["base"]), directory)
        for domain, content in (base.get("state") or {}).items():
            mine = document.setdefault("state", {}).get(domain)
            document["state"][domain] = _merge(content, mine) if mine is not None else content
    files = document.get("files") or {}
    for win_path, content in files.items():
        if isinstance(content, dict):  # {fixture: iis/applicationHost.config, crlf: true}
            data = (FIXTURE_DIR / content["fixture"]).read_bytes()
            files[win_path] = data.replace(b"\n", b"\r\n") if content.get("crlf") else data
    return document


def load_base(name: str, directory) -> dict:
    path = pathlib.Path(directory) / "bases" / f"{name}.yml"
    if not PROFILE_NAME.match(name) or not path.is_file():
        raise ValueError(f"winsim profile base {name!r} not found under {path.parent}")
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def _merge(base, override):
    """Override wins; mappings merge key by key (registry keys, services, secpol sections)."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **{k: _merge(base.get(k), v) for k, v in override.items()}}
    return override
