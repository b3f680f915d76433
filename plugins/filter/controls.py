# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the results of this collection's modules."""

from __future__ import annotations

from ansible_collections.meddev.hardening.plugins.plugin_utils.report import problem_controls


class FilterModule:
    def filters(self):
        return {"problem_controls": problem_controls}
