# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report.json as one self-contained HTML file for people (no external assets; docs/report-html.md).

Top: the verdict, the drift trend of earlier runs, what changed since the previous run. Then a
sortable, filterable hosts overview and one collapsible section per host, then each vendor text once.
"""

from __future__ import annotations

import json

from ansible_collections.meddev.hardening.plugins.module_utils.controls import STATUSES, summarize
from ansible_collections.meddev.hardening.plugins.plugin_utils.report_html_assets import CSP, SCRIPT, STYLE
from ansible_collections.meddev.hardening.plugins.plugin_utils.report_html_controls import esc
from ansible_collections.meddev.hardening.plugins.plugin_utils.report_html_hosts import host_section
from ansible_collections.meddev.hardening.plugins.plugin_utils.report_html_trend import load_history, trend_svg
from ansible_collections.meddev.hardening.plugins.plugin_utils.report_html_verdict import (
    HOST_STATES,
    LABELS,
    host_state,
    trend_point,
    verdict,
)
from ansible_collections.meddev.hardening.plugins.plugin_utils.report_sources import vendor_sources

__all__ = ["load_history", "render_html"]
OPEN_HOSTS_MAX = 12  # more hosts than this: every host section starts folded; the overview leads
SINCE_OPEN_MAX = 20  # longer since-last-run lists start folded


def _verdict(report: dict) -> str:
    v = verdict(report)
    word = "passed" if v["passed"] else "failed"
    items = (("drift", "drift on enforced hosts"), ("audit_only_drift", "drift on audit-only hosts (reported only)"),
             ("failed", "failed controls"), ("unreachable_hosts", "unreachable hosts"),
             ("failed_hosts", "hosts that failed"))
    counts = "".join(f"<li><b>{v[key]}</b> {label}</li>" for key, label in items)
    return (f'<header id="verdict" class="{word}" data-passed="{str(v["passed"]).lower()}">'
            f'<strong>GATE {word.upper()}</strong><span class="reason">{esc(v["reason"])}</span>'
            f"<ul>{counts}</ul></header>")


def _since(report: dict) -> str:
    since = report.get("since_last_run") or {}
    if not since.get("previous"):
        return ""

    def block(key, title, list_id=""):
        items = since.get(key) or []
        lis = "".join(f'<li><b>{esc(i.get("host"))}</b> <code>{esc(i.get("id"))}</code> {esc(i.get("title"))}: '
                      f'{esc(i.get("was"))} → {esc(i.get("now"))}</li>' for i in items)
        opened = " open" if 0 < len(items) <= SINCE_OPEN_MAX and key == "newly_drifted" else ""
        return (f'<details class="since"{opened}><summary>{title} ({len(items)})</summary>'
                f'<ul{list_id}>{lis}</ul></details>')

    return (f'<section id="since"><h2>Since the previous run ({esc(since["previous"])})</h2>'
            + block("newly_drifted", "Newly drifted", ' id="newly-drifted"') + block("fixed", "Fixed")
            + block("new", "New controls") + "</section>")


def _overview(groups: dict) -> str:
    rows = []
    findings_column = any(h.get("findings") for hosts in groups.values() for _n, h in hosts)
    for (customer, site), hosts in groups.items():
        for name, host in hosts:
            state = host_state(host)
            counts = summarize(c for c in host.get("controls") or [] if c.get("status") in STATUSES)
            error = (host.get("errors") or [""])[0]
            cells = "".join(f'<td class="num">{counts[s] or ""}</td>' for s in STATUSES)
            if findings_column:
                cells += f'<td class="num">{len(host.get("findings") or []) or ""}</td>'
            search = " ".join((name, customer, site, LABELS[state])).lower()
            problem = "1" if state in ("unreachable", "failed", "drift", "review") else "0"
            rows.append(
                f'<tr data-host="{esc(name)}" data-state="{state}" data-problem="{problem}" '
                f'data-search="{esc(search)}">'
                f'<td data-sort="{esc(name.lower())}"><a href="#host-{esc(name)}">{esc(name)}</a>'
                + (f"<small>{esc(error[:160])}</small>" if error else "")
                + f'</td><td>{esc(customer)}</td><td>{esc(site)}</td>'
                f'<td data-sort="{HOST_STATES.index(state)}"><span class="state {state}">{LABELS[state]}</span></td>'
                f'{cells}<td class="num">{esc(host.get("round_trips", 0))}</td></tr>')
    heads = "".join(f'<th data-type="num">{s.replace("_", " ")}</th>' for s in STATUSES)
    heads += '<th data-type="num">findings</th>' if findings_column else ""
    options = "".join(f'<option value="{s}">{LABELS[s]}</option>' for s in HOST_STATES)
    return (f'<section id="hosts"><h2>Hosts ({len(rows)})</h2><div class="tools">'
            '<input id="host-filter" type="search" placeholder="filter by host, customer, site, state" '
            'aria-label="filter hosts"> <select id="state-filter" aria-label="host state">'
            f'<option value="">every state</option><option value="problem">needs action (not OK, not audit-only)'
            f'</option>{options}</select><span id="hosts-shown">{len(rows)} of {len(rows)} hosts shown</span></div>'
            '<div id="overview-box"><table id="overview"><colgroup><col class="o-host"><col class="o-where">'
            '<col class="o-where"><col class="o-state"></colgroup><thead><tr><th>host</th><th>customer</th>'
            f'<th>site</th><th>state</th>{heads}<th data-type="num">round trips</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div></section>')


def _footnotes(used: set) -> str:
    texts = vendor_sources()
    items = "".join(f'<li id="src-{esc(i)}"><b>{esc(i)}</b> {esc(texts.get(i, "(no text in vendor_sources.yml)"))}</li>'
                    for i in sorted(used))
    return f'<section id="sources"><h2>Vendor requirements quoted above</h2><ul>{items}</ul></section>' if items else ""


def _interned(lazy: dict) -> dict:
    """{"strings": [...], "hosts": {host: families}} with every text replaced by its index in "strings":
    a fleet repeats the same ids, titles and messages on every host."""
    strings, index = [], {}

    def ref(text):
        if text not in index:
            index[text] = len(strings)
            strings.append(text)
        return index[text]

    def row(r):
        return [*(ref(t) for t in r[:5]), [ref(s) for s in r[5]], ref(r[6])]

    hosts = {name: [[ref(summary), open_, [row(r) for r in problems], [row(r) for r in folded]]
                    for summary, open_, problems, folded in families]
             for name, families in lazy.items()}
    return {"strings": strings, "hosts": hosts}


def _data_block(lazy: dict | None) -> str:
    """The rows of a large report as JSON in a data block (never run; CSP does not apply to it): building
    30,000 rows only when their host is opened keeps a 500-host page fast. ``<``, ``>``, ``&`` are written
    as JSON escapes, so no text in it can close the element."""
    if not lazy:
        return ""
    text = json.dumps(_interned(lazy), ensure_ascii=False, separators=(",", ":"))
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return f'<script type="application/json" id="controls-data">{text}</script>'


def render_html(report: dict, history: list | None = None) -> str:
    """The page for one report.

    ``history``: earlier runs of the same inventory, oldest first, each {generated, drift,
    audit_only_drift, failed} (``load_history`` reads them from the report folder); with at
    least one, the page draws the drift trend of those runs and this one.
    """
    groups = {}
    for name, host in sorted((report.get("hosts") or {}).items()):
        groups.setdefault((host.get("customer") or "unknown", host.get("site") or "unknown"), []).append((name, host))
    groups = dict(sorted(groups.items()))
    many = len(report.get("hosts") or {}) > OPEN_HOSTS_MAX
    used, lazy = set(), ({} if many else None)
    sections = "".join(
        f'<section class="group"><h2>{esc(customer)} · {esc(site)}</h2>'
        + "".join(host_section(name, host, used, open_=not many, lazy=lazy) for name, host in hosts) + "</section>"
        for (customer, site), hosts in groups.items())
    summary = report.get("summary") or summarize([])
    totals = "".join(f'<button class="badge {s}" data-filter="{s}">{s} <b>{summary.get(s, 0)}</b></button>'
                     for s in STATUSES)
    meta = {k: report.get(k) for k in ("generated", "mode", "collection_version", "playbook", "inventory")}
    page = TEMPLATE.format(
        csp=CSP, style=STYLE, script=SCRIPT, meta=esc(json.dumps(meta)),
        title=esc(f"meddev.hardening {report.get('mode')} report {report.get('generated')}"),
        verdict=_verdict(report), generated=esc(report.get("generated")), mode=esc(report.get("mode")),
        playbook=esc(report.get("playbook") or "-"),
        unreachable=esc(", ".join(report.get("unreachable") or []) or "none"),
        trend=trend_svg(history, trend_point(report)), since=_since(report), overview=_overview(groups),
        totals=totals, sections=sections, sources=_footnotes(used), data=_data_block(lazy))
    # A lone surrogate (undecodable host text) would make the UTF-8 write fail: the page must always be writable.
    return page.encode("utf-8", "replace").decode("utf-8")


TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<meta name="meddev-report" content="{meta}">
<style>{style}</style></head><body>
<h1>meddev.hardening compliance report</h1>
{verdict}
<p class="meta">Generated {generated} (UTC) by {playbook}, mode <b>{mode}</b>. Unreachable hosts: {unreachable}.</p>
{trend}
{since}
{overview}
<h2>Controls per host</h2>
<div id="filters">Show: {totals}</div>
{sections}
{sources}
{data}<script>{script}</script></body></html>
"""
