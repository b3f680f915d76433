# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Investigation findings as tables. IIS log fields are attacker-written text: escaped like everything else,
never turned into a link, and shown both as logged and as decoded for matching (docs/report-html.md)."""

from __future__ import annotations

import urllib.parse

from ansible_collections.meddev.hardening.plugins.plugin_utils.report_html_controls import esc, source_links

IIS_HEAD = ('<colgroup><col class="f-time"><col class="f-client"><col class="f-req"><col class="f-query">'
            '<col class="f-agent"><col class="f-status"><col class="f-where"><col class="f-ind"></colgroup>'
            '<thead><tr><th>time (UTC)</th><th>client</th><th>request</th><th>query string</th><th>user agent</th>'
            '<th>status</th><th>file:line</th><th>indicators</th></tr></thead>')
OTHER_HEAD = '<thead><tr><th>kind</th><th>time (UTC)</th><th>what</th><th>detail</th><th>source</th></tr></thead>'


def _breakable(text, after: str) -> str:
    """Escaped, with a line-break opportunity after each ``after`` (paths wrap at their separators)."""
    return esc(text).replace(after, after + "<wbr>")


def _logged(value, after="&amp;") -> str:
    """As written in the log, and decoded the way the scan matched it (twice, as iis_logs.request_text)."""
    raw = "" if value in (None, "-") else str(value)
    decoded = urllib.parse.unquote_plus(urllib.parse.unquote_plus(raw))
    shown = f"<code>{_breakable(raw, after)}</code>"
    return shown + (f"<small>decoded: <code>{_breakable(decoded, after)}</code></small>" if decoded != raw else "")


def _iis_row(f: dict) -> str:
    where = f"{_breakable(f.get('file'), chr(92))}:{esc(f.get('line'))}" if f.get("file") else ""
    # IIS writes a space in cs(User-Agent) as "+"; iis_log_scan does not return that field yet ("not recorded").
    agent = f"<code>{_breakable(f['user_agent'], '+')}</code>" if f.get("user_agent") else "not recorded"
    return (f'<tr><td>{esc(f.get("time"))}</td><td>{esc(f.get("client_ip"))}</td>'
            f'<td><code>{esc(f.get("method"))}</code> {_logged(f.get("uri"), "/")}</td>'
            f'<td>{_logged(f.get("query"))}</td><td>{agent}</td><td>{esc(f.get("status"))}</td>'
            f'<td><code>{where}</code></td><td>{esc(", ".join(map(str, f.get("indicators") or [])))}</td></tr>')


def _other_row(f: dict, used: set) -> str:
    kind = f.get("kind")
    if kind == "defender_detection":
        what = f.get("threat")
        detail = "; ".join(map(str, f.get("resources") or []))
        detail += " (action succeeded)" if f.get("action_success") else ""
    elif kind == "event":
        what = f"{f.get('log', '')} event {f.get('id', '')}: {f.get('why', '')}"
        detail = f.get("message")
    else:
        what, detail = f.get("why") or f.get("id"), f.get("message")
    return (f'<tr><td>{esc(kind)}</td><td>{esc(f.get("time"))}</td><td>{esc(what)}</td><td>{esc(detail)}</td>'
            f'<td>{source_links([f["source"]] if f.get("source") else [], used)}</td></tr>')


def findings_html(findings, used: set) -> str:
    iis = [f for f in findings if isinstance(f, dict) and f.get("kind") == "iis_log"]
    other = [f for f in findings if isinstance(f, dict) and f.get("kind") != "iis_log"]
    out = ""
    if iis:
        out += (f'<h4>IIS log requests that match an indicator ({len(iis)})</h4><table class="findings iis">{IIS_HEAD}'
                f'<tbody>{"".join(_iis_row(f) for f in iis)}</tbody></table>')
    if other:
        out += (f'<h4>Other investigation findings ({len(other)})</h4><table class="findings other">{OTHER_HEAD}'
                f'<tbody>{"".join(_other_row(f, used) for f in other)}</tbody></table>')
    return out
