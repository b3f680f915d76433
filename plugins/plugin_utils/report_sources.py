# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vendor requirement texts (SRC ids) that reports quote."""

from __future__ import annotations

import functools
import pathlib

import yaml

SOURCES = pathlib.Path(__file__).with_name("vendor_sources.yml")


@functools.lru_cache(maxsize=1)
def vendor_sources() -> dict:
    return yaml.safe_load(SOURCES.read_text(encoding="utf-8"))["requirements"]
