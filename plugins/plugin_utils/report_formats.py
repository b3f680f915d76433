# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report.json rendered for CI (JUnit XML, report_junit) and for people (HTML, report_html)."""

from __future__ import annotations

from ansible_collections.meddev.hardening.plugins.plugin_utils.report_html import render_html
from ansible_collections.meddev.hardening.plugins.plugin_utils.report_junit import junit
from ansible_collections.meddev.hardening.plugins.plugin_utils.report_sources import vendor_sources

__all__ = ["junit", "render_html", "vendor_sources"]
