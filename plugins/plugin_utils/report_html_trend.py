# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift trend of the last runs of one inventory: read from the report folder, drawn as inline SVG."""

from __future__ import annotations

import html
import json
import pathlib

from ansible_collections.meddev.hardening.plugins.plugin_utils.report_html_verdict import trend_point

MAX_RUNS = 20
SERIES = (("failed", "failed controls"), ("drift", "drift on enforced hosts"),
          ("audit_only_drift", "drift on audit-only hosts"))  # stacked bottom to top
WIDTH, HEIGHT, TOP, BOTTOM, LEFT = 720, 150, 16, 22, 40


def load_history(report_dir, inventory: list, limit: int = MAX_RUNS, before: str | None = None) -> list:
    """Trend points of the newest ``limit`` earlier runs of the same inventory, oldest first.

    Call it before the current run's folder is written (or pass ``before``, its ``generated``):
    the current run is added by render_html itself. Folders are found as report.previous_report does.
    """
    root = pathlib.Path(report_dir)
    if not root.is_dir() or limit <= 0:
        return []
    points = []
    for folder in sorted((p for p in root.iterdir() if p.is_dir() and not p.is_symlink()), reverse=True):
        try:
            data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or data.get("inventory") != inventory:
            continue
        if before is not None and str(data.get("generated") or "") >= before:
            continue
        points.append(trend_point(data))
        if len(points) >= limit:
            break
    return points[::-1]


def _point(item: dict) -> dict:
    def number(key):
        try:
            return max(0, int(item.get(key) or 0))
        except (TypeError, ValueError):
            return 0
    return {"generated": str(item.get("generated") or ""), **{key: number(key) for key, _label in SERIES}}


def trend_svg(history, current: dict, limit: int = MAX_RUNS) -> str:
    """Stacked bars, one per run (the current one outlined); '' without an earlier run to compare with."""
    points = [_point(p) for p in history or []
              if isinstance(p, dict) and str(p.get("generated")) != current["generated"]]
    if not points:
        return ""
    points = [*points[-(limit - 1):], _point(current)]
    peak = max(1, *(sum(p[key] for key, _label in SERIES) for p in points))
    plot_h = HEIGHT - TOP - BOTTOM
    step = (WIDTH - LEFT) / len(points)
    bar_w = max(2.0, step * 0.7)
    bars = []
    for index, point in enumerate(points):
        x = LEFT + index * step + (step - bar_w) / 2
        y = HEIGHT - BOTTOM
        rects = []
        for key, _label in SERIES:
            h = point[key] * plot_h / peak
            if h:
                y -= h
                rects.append(f'<rect class="t-{key}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}"/>')
        last = index == len(points) - 1
        if last:
            rects.append(f'<rect class="t-now" x="{x - 1:.1f}" y="{TOP - 1}" width="{bar_w + 2:.1f}" '
                         f'height="{plot_h + 2}"/>')
        tip = (f"{point['generated']}{' (this run)' if last else ''}: {point['drift']} drift on enforced hosts, "
               f"{point['audit_only_drift']} on audit-only hosts, {point['failed']} failed")
        bars.append(f"<g><title>{html.escape(tip)}</title>{''.join(rects)}</g>")
    first, last_label = html.escape(points[0]["generated"]), html.escape(points[-1]["generated"])
    axis = (f'<line class="t-axis" x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - BOTTOM}"/>'
            f'<text x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end">{peak}</text>'
            f'<text x="{LEFT - 4}" y="{HEIGHT - BOTTOM}" text-anchor="end">0</text>'
            f'<text x="{LEFT}" y="{HEIGHT - 6}">{first}</text>'
            f'<text x="{WIDTH}" y="{HEIGHT - 6}" text-anchor="end">{last_label}</text>')
    legend = "".join(f'<span class="key t-{key}"></span>{label} ' for key, label in SERIES[::-1])
    return (f'<section id="trend"><h2>Drift over the last {len(points)} runs of this inventory</h2>'
            f'<svg role="img" aria-label="drift per run" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
            f'height="{HEIGHT}">{axis}{"".join(bars)}</svg><p class="legend">{legend}</p></section>')
