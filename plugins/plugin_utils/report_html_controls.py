# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's controls as tables, grouped by family (FW, AV, BL, MS ...), with the rows nobody needs to read folded.

A family with at most FAMILY_OPEN_MAX rows that need a reader starts open, a larger one starts folded
with its counts in its summary line; compliant, fixed and not_applicable rows are always one click
away. Large reports carry the same structure as data (``families(..., as_data=True)``) that the page's
script turns into the same tables when a host is opened.
"""

from __future__ import annotations

import html

from ansible_collections.meddev.hardening.plugins.module_utils.controls import STATUSES, summarize

FOLDED = ("fixed", "compliant", "not_applicable")  # shown after one click; the rest needs a reader
FAMILY_OPEN_MAX = 20
FAMILIES = {"FW": "Firewall", "AV": "Antivirus exclusions", "BL": "Hardening baseline",
            "MS": "Microsoft security baseline", "IQW": "iQ-WEBX LicGen.exe", "LRM": "Illumina LRM patch",
            "IR": "Investigation"}
TEXT_KEYS = ("id", "title", "status", "expected", "actual", "message")
CONTROL_HEAD = ('<colgroup><col class="c-id"><col class="c-title"><col class="c-status"><col class="c-exp">'
                '<col class="c-act"><col class="c-src"><col class="c-msg"></colgroup><thead><tr><th>control</th>'
                '<th>title</th><th>status</th><th>expected</th><th>actual</th><th>vendor requirement</th>'
                '<th>message</th></tr></thead>')


def esc(value) -> str:
    return html.escape(str(value if value is not None else ""), quote=True)


READING_ORDER = ("failed", "drift", "manual", "deferred", "fixed", "compliant", "not_applicable")  # worst first


def count_words(counts: dict) -> str:
    """'2 drift, 5 compliant': the statuses that occur, worst first."""
    return ", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in READING_ORDER if counts.get(s))


def source_links(ids, used: set) -> str:
    """Each SRC id links to its text, printed once at the end of the page (report_html._footnotes)."""
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


def _data_row(control: dict, used: set) -> list:
    """[id, title, status, expected, actual, [source ids], message]: a row for the page's script."""
    sources = [str(i) for i in control.get("source") or []]
    used.update(sources)
    text = [str(control.get(k) if control.get(k) is not None else "") for k in TEXT_KEYS]
    return [*text[:5], sources, text[5]]


def family_of(control_id) -> str:
    key = str(control_id).split("-", 1)[0].split(":", 1)[0].upper()
    return FAMILIES.get(key, key or "other")


def families(controls, used: set, as_data: bool = False):
    """HTML of the host's families, or (as_data) [[summary, open, problem rows, folded rows], ...]."""
    groups = {}
    for control in controls:
        groups.setdefault(family_of(control.get("id")), []).append(control)
    out = []
    for label, members in groups.items():
        counts = summarize(c for c in members if c.get("status") in STATUSES)
        problems = [c for c in members if c.get("status") not in FOLDED]
        folded = sorted((c for c in members if c.get("status") in FOLDED), key=lambda c: FOLDED.index(c["status"]))
        summary, open_ = f"{label}: {count_words(counts)}", 0 < len(problems) <= FAMILY_OPEN_MAX
        if as_data:
            out.append([summary, open_, [_data_row(c, used) for c in problems], [_data_row(c, used) for c in folded]])
            continue
        inner = _table(problems, used) if problems else ""
        if folded and problems:  # the family is open for its problems; the rest one more click away
            words = count_words({s: counts[s] for s in FOLDED})
            inner += f'<details class="folded"><summary>{esc(words)} (show)</summary>{_table(folded, used)}</details>'
        elif folded:  # nothing to read here: the family's own fold is enough
            inner += _table(folded, used)
        out.append(f'<details class="family"{" open" if open_ else ""}><summary>{esc(summary)}</summary>{inner}'
                   "</details>")
    return out if as_data else "".join(out)
