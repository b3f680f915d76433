# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report.json as one self-contained HTML file for people (no external assets)."""

from __future__ import annotations

import html
import json

from ansible_collections.meddev.hardening.plugins.module_utils.controls import STATUSES, summarize
from ansible_collections.meddev.hardening.plugins.plugin_utils.report_sources import vendor_sources


def _esc(value) -> str:
    return html.escape(str(value if value is not None else ""), quote=True)


def _sources(ids) -> str:
    texts = vendor_sources()
    return "".join(f'<span class="src" title="{_esc(texts.get(i, ""))}">{_esc(i)}</span>'
                   f'<div class="srctext">{_esc(texts.get(i, ""))}</div>' for i in ids)


def _host_section(name: str, host: dict) -> str:
    rows = "".join(
        f'<tr class="ctl {c["status"]}" data-status="{_esc(c["status"])}"><td><code>{_esc(c["id"])}</code></td>'
        f'<td>{_esc(c["title"])}</td><td><span class="badge {c["status"]}">{_esc(c["status"])}</span></td>'
        f'<td>{_esc(c["expected"])}</td><td>{_esc(c["actual"])}</td><td>{_sources(c["source"])}</td>'
        f'<td>{_esc(c["message"])}</td></tr>'
        for c in host["controls"])
    findings = "".join(
        f'<tr><td>{_esc(f.get("kind"))}</td><td>{_esc(f.get("time"))}</td>'
        f'<td>{_esc(f.get("client_ip") or f.get("threat") or f.get("id"))}</td>'
        f'<td>{_esc(f.get("method", ""))} {_esc(f.get("uri", ""))} {_esc(f.get("why", ""))}</td>'
        f'<td>{_esc(", ".join(f.get("indicators") or []) or f.get("message", ""))}</td></tr>'
        for f in host.get("findings") or [])
    flags = " audit-only" if host.get("audit_only") else ""
    flags += " UNREACHABLE" if host.get("unreachable") else ""
    errors = "".join(f'<p class="error">{_esc(e)}</p>' for e in host.get("errors") or [])
    if host.get("cert_validation") is False:
        errors += ('<p class="error">WinRM certificate validation is off for this host: its identity is not '
                   'checked (set ansible_winrm_server_cert_validation: validate)</p>')
    table = ('<table><thead><tr><th>control</th><th>title</th><th>status</th><th>expected</th><th>actual</th>'
             f'<th>vendor requirement</th><th>message</th></tr></thead><tbody>{rows}</tbody></table>')
    if findings:
        table += ('<h4>Investigation findings</h4><table class="findings"><thead><tr><th>kind</th><th>time (UTC)</th>'
                  f'<th>who</th><th>what</th><th>indicator</th></tr></thead><tbody>{findings}</tbody></table>')
    return (f'<section class="host" id="host-{_esc(name)}"><h3>{_esc(name)}<small>{_esc(flags)} · '
            f'{host["round_trips"]} round trips</small></h3>{errors}{table}</section>')


def render_html(report: dict) -> str:
    """A single file, no external assets: totals, per customer/site/host, filter by status, printable."""
    totals = "".join(f'<button class="badge {s}" data-filter="{s}">{s} <b>{report["summary"][s]}</b></button>'
                     for s in STATUSES)
    groups = {}
    for name, host in report["hosts"].items():
        groups.setdefault((host.get("customer") or "-", host.get("site") or "-"), []).append((name, host))
    overview = "".join(
        f'<tr><td>{_esc(customer)}</td><td>{_esc(site)}</td><td><a href="#host-{_esc(name)}">{_esc(name)}</a>'
        f'{" (audit-only)" if host.get("audit_only") else ""}</td>'
        + "".join(f'<td class="num">{summarize(host["controls"])[s] or ""}</td>' for s in STATUSES) + "</tr>"
        for (customer, site), hosts in sorted(groups.items()) for name, host in hosts)
    overview = ('<table id="overview"><thead><tr><th>customer</th><th>site</th><th>host</th>'
                + "".join(f"<th>{s}</th>" for s in STATUSES) + f"</tr></thead><tbody>{overview}</tbody></table>")
    body = ""
    for (customer, site), hosts in sorted(groups.items()):
        body += f'<h2>{_esc(customer)} · {_esc(site)}</h2>' + "".join(_host_section(n, h) for n, h in hosts)
    since = report.get("since_last_run") or {}
    since_html = ""
    if since.get("previous"):
        items = "".join(f'<li><b>{_esc(i["host"])}</b> <code>{_esc(i["id"])}</code> {_esc(i["title"])}: '
                        f'{_esc(i["was"])} → {_esc(i["now"])}</li>' for i in since["newly_drifted"])
        fixed = "".join(f'<li><b>{_esc(i["host"])}</b> <code>{_esc(i["id"])}</code>: {_esc(i["was"])} → '
                        f'{_esc(i["now"])}</li>' for i in since["fixed"])
        since_html = (f'<section id="since"><h2>Since the previous run ({_esc(since["previous"])})</h2>'
                      f'<h4>Newly drifted ({len(since["newly_drifted"])})</h4><ul id="newly-drifted">{items}</ul>'
                      f'<h4>Fixed ({len(since["fixed"])})</h4><ul>{fixed}</ul>'
                      f'<p>{len(since["new"])} control(s) new since then.</p></section>')
    meta = {k: report.get(k) for k in ("generated", "mode", "collection_version", "playbook", "inventory")}
    return TEMPLATE.format(title=_esc(f"meddev.hardening {report['mode']} report {report['generated']}"),
                           meta=_esc(json.dumps(meta)), generated=_esc(report["generated"]), mode=_esc(report["mode"]),
                           totals=totals, since=since_html, body=overview + body,
                           unreachable=_esc(", ".join(report.get("unreachable") or []) or "none"))


TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="meddev-report" content="{meta}">
<style>
body{{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d2430}}
h1{{margin:0 0 4px}} h2{{border-bottom:2px solid #dde3ea;padding-bottom:4px;margin-top:28px}}
h3 small{{font-weight:normal;color:#667;margin-left:8px}} .meta{{color:#556}}
table{{border-collapse:collapse;width:100%;margin:8px 0 16px}} th,td{{border:1px solid #dde3ea;padding:4px 6px;
vertical-align:top;text-align:left}} th{{background:#f3f6f9}} code{{font-size:12px}}
.badge{{display:inline-block;border-radius:10px;padding:1px 8px;border:1px solid #ccd;background:#fff;
font-size:12px;cursor:pointer}} .badge b{{margin-left:4px}}
.compliant{{background:#e6f4ea}} .fixed{{background:#d6ecff}} .drift{{background:#fff1d6}}
.failed{{background:#fbdcdc}} .manual{{background:#efe6fb}} .deferred{{background:#eee}}
.not_applicable{{background:#f6f6f6;color:#777}} button.off{{opacity:.35}}
.src{{font-family:monospace;font-size:12px;margin-right:4px;white-space:nowrap}}
.srctext{{font-size:11px;color:#556}} .error{{color:#a11}} #filters{{margin:12px 0}}
tr.hidden{{display:none}} td.num{{text-align:right}} #overview td,#overview th{{padding:2px 6px}}
@media print{{#filters button{{border:0}} tr.hidden{{display:none}} section.host{{break-inside:avoid}}
body{{margin:0;font-size:11px}}}}
</style></head><body>
<h1>meddev.hardening compliance report</h1>
<p class="meta">Generated {generated} (UTC), mode <b>{mode}</b>. Unreachable hosts: {unreachable}.</p>
<div id="filters">Show: {totals}</div>
{since}
{body}
<script>
(function(){{
  var off = {{}};
  function apply(){{
    document.querySelectorAll('tr.ctl').forEach(function(r){{
      r.classList.toggle('hidden', !!off[r.getAttribute('data-status')]);}});
    document.querySelectorAll('#filters button').forEach(function(b){{
      b.classList.toggle('off', !!off[b.getAttribute('data-filter')]);}});
  }}
  document.querySelectorAll('#filters button').forEach(function(b){{
    b.addEventListener('click', function(){{var s=b.getAttribute('data-filter'); off[s]=!off[s]; apply();}});}});
  var m = /status=([a-z_,]+)/.exec(location.hash);
  if (m) {{ var keep = m[1].split(','); document.querySelectorAll('#filters button').forEach(function(b){{
    var s=b.getAttribute('data-filter'); off[s] = keep.indexOf(s) < 0;}}); }}
  apply();
}})();
</script></body></html>
"""
