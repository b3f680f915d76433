# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One collapsible section per host: who and where, its state, errors, its controls by family, findings.

Every value from report.json is escaped: titles and messages can quote host data, and findings
quote IIS log lines an attacker wrote (docs/report-html.md).
"""

from __future__ import annotations

from ansible_collections.meddev.hardening.plugins.module_utils.controls import STATUSES, summarize
from ansible_collections.meddev.hardening.plugins.plugin_utils.report_html_controls import count_words, esc, families
from ansible_collections.meddev.hardening.plugins.plugin_utils.report_html_findings import findings_html
from ansible_collections.meddev.hardening.plugins.plugin_utils.report_html_verdict import LABELS, host_state


def host_section(name: str, host: dict, used: set, open_: bool, lazy: dict | None = None) -> str:
    """``lazy``: collects the host's controls as data instead of HTML (large reports build them when opened)."""
    controls = [c for c in host.get("controls") or [] if isinstance(c, dict)]
    state = host_state(host)
    counts = summarize(c for c in controls if c.get("status") in STATUSES)
    body = "".join(f'<p class="error">{esc(e)}</p>' for e in host.get("errors") or [])
    if host.get("cert_validation") is False:
        body += ('<p class="error">WinRM certificate validation is off for this host: its identity is not '
                 'checked (set ansible_winrm_server_cert_validation: validate)</p>')
    if not controls:
        body += f'<p class="error">No control was judged on this host: it is {LABELS[state]}.</p>'
    elif lazy is not None:
        lazy[name] = families(controls, used, as_data=True)
        body += f'<div class="lazy">{len(controls)} controls: they are listed when this section is opened</div>'
    else:
        body += families(controls, used)
    findings = [f for f in host.get("findings") or [] if isinstance(f, dict)]
    body += findings_html(findings, used)
    where = " · ".join(esc(host.get(k) or "unknown") for k in ("customer", "site"))
    extra = f" · {len(findings)} finding(s)" if findings else ""
    also_audit = host.get("audit_only") and state != "audit-only"  # an unreachable audit-only host says both
    audit = ' <span class="state audit-only">AUDIT-ONLY</span>' if also_audit else ""
    return (f'<details class="host" id="host-{esc(name)}" data-host="{esc(name)}"{" open" if open_ else ""}>'
            f'<summary><b>{esc(name)}</b> <span class="state {state}">{LABELS[state]}</span>'
            f'{audit} <small>{where} · {esc(count_words(counts) or "no controls")}{esc(extra)} · '
            f'{esc(host.get("round_trips", 0))} round trips</small></summary>{body}</details>')
