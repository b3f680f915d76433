# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One collapsible section per host: problems open, compliant rows folded, findings, errors.

Every value from report.json is escaped: titles and messages can quote host data, and findings
quote IIS log lines an attacker wrote (docs/report-html.md).
"""

from __future__ import annotations

import html
import urllib.parse

from ansible_collections.meddev.hardening.plugins.module_utils.controls import STATUSES, summarize
from ansible_collections.meddev.hardening.plugins.plugin_utils.report_html_verdict import LABELS, host_state

FOLDED = ("fixed", "compliant", "not_applicable")  # shown after one click; the rest needs a reader
TEXT_KEYS = ("id", "title", "status", "expected", "actual", "message")
CONTROL_HEAD = ('<colgroup><col class="c-id"><col class="c-title"><col class="c-status"><col class="c-exp">'
                '<col class="c-act"><col class="c-src"><col class="c-msg"></colgroup><thead><tr><th>control</th>'
                '<th>title</th><th>status</th><th>expected</th><th>actual</th><th>vendor requirement</th>'
                '<th>message</th></tr></thead>')
IIS_HEAD = ('<colgroup><col class="f-time"><col class="f-client"><col class="f-req"><col class="f-query">'
            '<col class="f-agent"><col class="f-status"><col class="f-where"><col class="f-ind"></colgroup>'
            '<thead><tr><th>time (UTC)</th><th>client</th><th>request</th><th>query string</th><th>user agent</th>'
            '<th>status</th><th>file:line</th><th>indicators</th></tr></thead>')
OTHER_HEAD = ('<thead><tr><th>kind</th><th>time (UTC)</th><th>what</th><th>detail</th><th>source</th></tr></thead>')


def esc(value) -> str:
    return html.escape(str(value if value is not None else ""), quote=True)


def source_links(ids, used: set) -> str:
    """Each SRC id links to its text, printed once at the end of the page (report_html.footnotes)."""
    out = []
    for ident in ids or []:
        used.add(str(ident))
        out.append(f'<a class="src" href="#src-{esc(ident)}">{esc(ident)}</a>')
    return " ".join(out)


def _row(control: dict, used: set) -> str:
    status = esc(control.get("status"))
    return (f'<tr class="ctl {status}" data-status="{status}"><td><code>{esc(control.get("id"))}</code></td>'
            f'<td>{esc(control.get("title"))}</td><td><span class="badge {status}">{status}</span></td>'
            f'<td>{esc(control.get("expected"))}</td><td>{esc(control.get("actual"))}</td>'
            f'<td>{source_links(control.get("source"), used)}</td><td>{esc(control.get("message"))}</td></tr>')


def _table(controls, used: set) -> str:
    return f'<table class="controls">{CONTROL_HEAD}<tbody>{"".join(_row(c, used) for c in controls)}</tbody></table>'


def _breakable(text: str, after: str) -> str:
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


def count_words(counts: dict) -> str:
    return ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items() if n)


def lazy_row(control: dict, used: set) -> list:
    """A control row as data: [id, title, status, expected, actual, [source ids], message] (SCRIPT builds it)."""
    sources = [str(i) for i in control.get("source") or []]
    used.update(sources)
    text = [str(control.get(k) if control.get(k) is not None else "") for k in TEXT_KEYS]
    return [*text[:5], sources, text[5]]


def host_section(name: str, host: dict, used: set, open_: bool, lazy: dict | None = None) -> str:
    """``lazy``: collects the host's rows as data instead of HTML (large reports: tables are built when opened)."""
    controls = [c for c in host.get("controls") or [] if isinstance(c, dict)]
    state = host_state(host)
    counts = summarize(c for c in controls if c.get("status") in STATUSES)
    errors = "".join(f'<p class="error">{esc(e)}</p>' for e in host.get("errors") or [])
    if host.get("cert_validation") is False:
        errors += ('<p class="error">WinRM certificate validation is off for this host: its identity is not '
                   'checked (set ansible_winrm_server_cert_validation: validate)</p>')
    shown = [c for c in controls if c.get("status") not in FOLDED]
    folded = sorted((c for c in controls if c.get("status") in FOLDED), key=lambda c: FOLDED.index(c["status"]))
    if lazy is not None and controls:
        lazy[name] = [lazy_row(c, used) for c in shown + folded]
        body = f'<div class="lazy" data-host="{esc(name)}">{len(controls)} controls: open to list them</div>'
    else:
        body = _table(shown, used) if shown else ""
    if folded and lazy is None:
        body += (f'<details class="folded"><summary>{esc(count_words({s: counts[s] for s in FOLDED}))} '
                 f'(show)</summary>{_table(folded, used)}</details>')
    if not controls:
        body += f'<p class="error">No control was judged on this host: it is {LABELS[state]}.</p>'
    findings = [f for f in host.get("findings") or [] if isinstance(f, dict)]
    body += findings_html(findings, used)
    where = " · ".join(esc(host.get(k) or "unknown") for k in ("customer", "site"))
    summary_counts = count_words(counts)
    extra = f" · {len(findings)} finding(s)" if findings else ""
    also_audit = host.get("audit_only") and state != "audit-only"  # an unreachable audit-only host says both
    audit = ' <span class="state audit-only">AUDIT-ONLY</span>' if also_audit else ""
    return (f'<details class="host" id="host-{esc(name)}" data-host="{esc(name)}"{" open" if open_ else ""}>'
            f'<summary><b>{esc(name)}</b> <span class="state {state}">{LABELS[state]}</span>'
            f'{audit} <small>{where} · {esc(summary_counts or "no controls")}{esc(extra)} · '
            f'{esc(host.get("round_trips", 0))} round trips</small></summary>{errors}{body}</details>')
