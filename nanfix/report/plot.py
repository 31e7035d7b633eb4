"""Loss curves on one figure: every baseline seed and the top three fixes, step by step.

The y axis is logarithmic when the curves span more than two decades (a diverging loss
climbs by many), and the first non-finite step is marked by a dashed vertical line, with a
cross where each curve stopped being a number. matplotlib draws the figure when it is
installed (`pip install 'nanfix[plot]'`); without it an SVG is drawn by hand, so
`--plot curves.svg` always works and only `.png` needs matplotlib.

`write_plot(report, "curves.svg")` writes the report dict of `nanfix probe --format json`;
`svg_text` is the hand-drawn SVG, as the HTML page inlines it:

>>> report = {"script": "train.py", "verdict": "diverges", "baseline": {"runs": [
...     {"seed": 0, "outcome": "diverged", "loss_history": [2.3, 40.0, 9e5, None]}]}}
>>> [(curve.label, curve.first_nonfinite) for curve in curves(report)]
[('baseline seed 0 (diverged)', 3)]
>>> use_log_scale(curves(report)), svg_text(report).startswith("<svg")
(True, True)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from html import escape
from typing import Any

from nanfix.files import write_text

SUFFIXES = (".png", ".svg")
TOP_FIXES = 3
LOG_SPAN = 100.0  # two decades
BASELINE_COLORS = {"diverged": ("#d62728", "#ff7f0e", "#8c564b", "#e377c2"),
                   "stalled": ("#bcbd22", "#ff9896", "#c49c94", "#f7b6d2"),
                   "healthy": ("#7f7f7f", "#1f77b4", "#9edae5", "#aec7e8")}
FIX_COLORS = ("#2ca02c", "#17becf", "#9467bd")
NONFINITE_COLOR = "#d62728"


class PlotError(RuntimeError):
    """The plot cannot be written as asked (wrong suffix, .png without matplotlib)."""


@dataclass
class Curve:
    label: str  # legend entry, shared by all seeds of one fix
    values: list[float | None]  # loss per step; None where non-finite
    color: str
    dashed: bool  # fixes are dashed, the baseline solid
    first_nonfinite: int | None  # step of the first non-finite loss in this run
    show_label: bool = True


def _matplotlib():
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return Figure


def check_plot_path(path: str) -> None:
    """Raise PlotError now, before a long run, if `path` cannot be written."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in SUFFIXES:
        raise PlotError(f"--plot {path}: the file must end in .png or .svg.")
    if suffix == ".png" and _matplotlib() is None:
        raise PlotError(f"--plot {path}: PNG plots need matplotlib, which is not installed. "
                        f"Install it with `pip install 'nanfix[plot]'`, or write an SVG "
                        f"(--plot {os.path.splitext(path)[0]}.svg), which needs nothing.")


def _first_nonfinite(run: dict[str, Any], values: list[float | None]) -> int | None:
    event = run.get("first_nonfinite") or {}
    if event.get("step") is not None:
        return int(event["step"])
    return next((step for step, value in enumerate(values) if value is None), None)


def curves(report: dict[str, Any]) -> list[Curve]:
    """What to draw: each baseline seed, then each seed of the top fixes (one colour per fix)."""
    found: list[Curve] = []
    used: dict[str, int] = {}
    for run in (report.get("baseline") or {}).get("runs") or []:
        values = list(run.get("loss_history") or [])
        palette = BASELINE_COLORS.get(run["outcome"], BASELINE_COLORS["diverged"])
        color = palette[used.get(run["outcome"], 0) % len(palette)]
        used[run["outcome"]] = used.get(run["outcome"], 0) + 1
        found.append(Curve(f"baseline seed {run['seed']} ({run['outcome']})", values, color, False,
                           _first_nonfinite(run, values)))
    ranked = sorted(report.get("fixes") or [], key=lambda fix: fix.get("rank") or 10**6)
    for index, fix in enumerate(ranked[:TOP_FIXES]):
        for position, run in enumerate(fix.get("runs") or []):
            values = list(run.get("loss_history") or [])
            found.append(Curve(f"fix {fix['id']} ({fix['outcome']})", values,
                               FIX_COLORS[index % len(FIX_COLORS)], True,
                               _first_nonfinite(run, values), show_label=position == 0))
    return [curve for curve in found if curve.values]


def _finite(all_curves: list[Curve]) -> list[float]:
    return [v for curve in all_curves for v in curve.values if v is not None and math.isfinite(v)]


def use_log_scale(all_curves: list[Curve]) -> bool:
    """Log y when every value is positive and they span more than two decades."""
    values = _finite(all_curves)
    if not values or min(values) <= 0:
        return False
    return max(values) / min(values) > LOG_SPAN


def first_bad_step(report: dict[str, Any]) -> int | None:
    baseline = report.get("baseline") or {}
    if baseline.get("first_bad_step") is not None:
        return int(baseline["first_bad_step"])
    steps = [curve.first_nonfinite for curve in curves(report)
             if curve.first_nonfinite is not None and not curve.dashed]
    return min(steps) if steps else None


def _title(report: dict[str, Any]) -> str:
    script = os.path.basename(report.get("script") or "")
    return f"nanfix · {script} · {str(report.get('verdict', '')).upper()}"


def write_plot(report: dict[str, Any], path: str) -> None:
    """Write the loss curves to `path` (.png or .svg)."""
    check_plot_path(path)
    figure_class = _matplotlib()
    if figure_class is None:
        write_text(path, svg_text(report))
        return
    _draw_matplotlib(report, figure_class).savefig(path, metadata=_metadata(path))


def _metadata(path: str) -> dict[str, Any]:
    # reproducible files: no creation date in the SVG
    return {"Date": None} if path.lower().endswith(".svg") else {}


def _draw_matplotlib(report: dict[str, Any], figure_class: Any) -> Any:
    figure = figure_class(figsize=(8.5, 4.5), dpi=110, layout="constrained")
    axes = figure.add_subplot()
    all_curves = curves(report)
    for curve in all_curves:
        axes.plot(range(len(curve.values)), [math.nan if v is None else v for v in curve.values],
                  color=curve.color, linestyle="--" if curve.dashed else "-", linewidth=1.4,
                  label=curve.label if curve.show_label else None)
        step = curve.first_nonfinite
        if step is not None:
            axes.plot([step], [1.0], marker="x", markersize=9, color=curve.color,
                      transform=axes.get_xaxis_transform(), clip_on=False, linestyle="none")
    bad = first_bad_step(report)
    if bad is not None:
        axes.axvline(bad, color=NONFINITE_COLOR, linestyle=":", linewidth=1.2,
                     label=f"first non-finite (step {bad})")
    if use_log_scale(all_curves):
        axes.set_yscale("log")
    if not all_curves:
        message = (report.get("error") or {}).get("message") or "no loss curves in this report"
        axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes, wrap=True)
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("training step")
    axes.set_ylabel("loss")
    axes.set_title(_title(report))
    axes.grid(True, alpha=0.3)
    if all_curves:
        axes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small", frameon=False)
    return figure


# --- the hand-drawn SVG: no dependency, used by the HTML page and when matplotlib is absent ---

WIDTH, HEIGHT = 820, 380
LEFT, RIGHT, TOP, BOTTOM = 70, 230, 36, 48


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.ceil(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def _label(value: float) -> str:
    if value != 0 and (abs(value) >= 1e4 or abs(value) < 1e-2):
        return f"{value:.0e}".replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")
    return f"{value:g}"


def svg_text(report: dict[str, Any]) -> str:
    """The loss curves as a self-contained SVG document (a string)."""
    all_curves = curves(report)
    log = use_log_scale(all_curves)
    finite = _finite(all_curves)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12" '
             f'role="img" aria-label="loss curves">',
             f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
             f'<text x="{LEFT}" y="22" font-size="14" font-weight="bold">{escape(_title(report))}</text>']
    if not finite:
        message = (report.get("error") or {}).get("message") or "no loss curves in this report"
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">{escape(message)}</text>')
        parts.append("</svg>")
        return "\n".join(parts)
    scale = math.log10 if log else (lambda v: v)
    low, high = scale(min(finite)), scale(max(finite))
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    pad = (high - low) * 0.04
    low, high = low - pad, high + pad
    steps = max(len(curve.values) for curve in all_curves)
    x_max = max(steps - 1, 1)

    def x_of(step: float) -> float:
        return LEFT + plot_w * step / x_max

    def y_of(value: float) -> float:
        return TOP + plot_h * (1 - (scale(value) - low) / (high - low))

    parts.append(f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>')
    if log:
        first, last = math.ceil(low), math.floor(high)
        every = max(1, math.ceil((last - first + 1) / 8))
        y_ticks = [10.0 ** exponent for exponent in range(first, last + 1, every)]
    else:
        y_ticks = _nice_ticks(low, high)
    for tick in y_ticks:
        y = y_of(tick)
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(_label(tick))}</text>')
    for tick in _nice_ticks(0, x_max):
        if float(tick).is_integer():
            x = x_of(tick)
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 4}" stroke="#999"/>')
            parts.append(f'<text x="{x:.1f}" y="{TOP + plot_h + 17}" text-anchor="middle">{int(tick)}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 8}" text-anchor="middle">training step</text>')
    parts.append(f'<text x="16" y="{TOP + plot_h / 2}" text-anchor="middle" '
                 f'transform="rotate(-90 16 {TOP + plot_h / 2})">loss{" (log)" if log else ""}</text>')
    bad = first_bad_step(report)
    if bad is not None:
        x = x_of(min(bad, x_max))
        parts.append(f'<line class="first-nonfinite" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" '
                     f'y2="{TOP + plot_h}" stroke="{NONFINITE_COLOR}" stroke-dasharray="3 3"/>')
    for curve in all_curves:
        dash = ' stroke-dasharray="6 3"' if curve.dashed else ""
        for segment in _segments(curve.values):
            points = " ".join(f"{x_of(step):.1f},{y_of(value):.1f}" for step, value in segment)
            if len(segment) == 1:
                step, value = segment[0]
                parts.append(f'<circle cx="{x_of(step):.1f}" cy="{y_of(value):.1f}" r="2" fill="{curve.color}"/>')
            else:
                parts.append(f'<polyline points="{points}" fill="none" stroke="{curve.color}" '
                             f'stroke-width="1.5"{dash}><title>{escape(curve.label)}</title></polyline>')
        if curve.first_nonfinite is not None:
            x = x_of(min(curve.first_nonfinite, x_max))
            parts.append(f'<text class="nonfinite-marker" x="{x:.1f}" y="{TOP + 4}" text-anchor="middle" '
                         f'fill="{curve.color}" font-size="14" font-weight="bold">×</text>')
    legend = [(curve.label, curve.color, curve.dashed) for curve in all_curves if curve.show_label]
    if bad is not None:
        legend.append((f"first non-finite (step {bad})", NONFINITE_COLOR, True))
    for index, (label, color, dashed) in enumerate(legend):
        y = TOP + 10 + 18 * index
        x = LEFT + plot_w + 14
        dash = ' stroke-dasharray="6 3"' if dashed else ""
        parts.append(f'<line x1="{x}" x2="{x + 22}" y1="{y}" y2="{y}" stroke="{color}" stroke-width="2"{dash}/>')
        parts.append(f'<text x="{x + 28}" y="{y + 4}">{escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _segments(values: list[float | None]) -> list[list[tuple[int, float]]]:
    """Runs of consecutive finite values: a non-finite step breaks the line."""
    segments: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    for step, value in enumerate(values):
        if value is None or not math.isfinite(value):
            if current:
                segments.append(current)
            current = []
        else:
            current.append((step, value))
    if current:
        segments.append(current)
    return segments
