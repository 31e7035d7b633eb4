"""The report as one self-contained HTML page, for CI artifacts and sharing by e-mail.

Everything is inline: the CSS, the loss curves (the hand-drawn SVG of plot.py, so no
matplotlib is needed), the diff. There are no scripts and no external assets, and a
Content-Security-Policy forbids them, so the page opens the same offline, from an artifact
store or from a mail attachment. Every value from the report (finding messages, the
script's output, the diff) is escaped.

On the command line::

    nanfix probe train.py --html nanfix.html
"""

from __future__ import annotations

import json
import os
from html import escape
from typing import Any

from nanfix.files import write_text
from nanfix.report import plot
from nanfix.report.captured import draws_line, probed_line, resumed_line

CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.15em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.verdict { display: inline-block; padding: 0.15em 0.6em; border-radius: 4px; color: white;
           font-weight: bold; letter-spacing: 0.05em; }
.verdict-healthy { background: #2e7d32; } .verdict-diverges { background: #c62828; }
.verdict-stalls { background: #ef8f00; } .verdict-error { background: #8e24aa; }
.dim { color: #666; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.93em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f5f5f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.sev-error, .out-diverged, .out-fails { color: #c62828; font-weight: bold; }
.sev-warning, .out-stalled, .out-improves { color: #b26a00; font-weight: bold; }
.sev-info { color: #00838f; }
.out-healthy, .out-cures { color: #2e7d32; font-weight: bold; }
.out-crashed, .out-timed_out { color: #8e24aa; font-weight: bold; }
pre { background: #f7f7f7; border: 1px solid #e3e3e3; padding: 0.8em; overflow-x: auto;
      font-size: 0.88em; }
pre .add { color: #1b5e20; background: #e8f5e9; } pre .del { color: #b71c1c; background: #ffebee; }
pre .hunk { color: #6a1b9a; }
.cause, .error { border-left: 4px solid #c62828; padding: 0.4em 0.9em; background: #fff5f5; }
.plot svg { max-width: 100%; height: auto; }
code { background: #f2f2f2; padding: 0 0.25em; border-radius: 3px; }
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _number(value: Any, digits: int = 4) -> str:
    if value is None:
        return "nan"
    if isinstance(value, float):
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.2e}"
        return f"{value:.{digits}g}"
    return str(value)


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    """Cells arrive already escaped (some carry markup)."""
    numeric = numeric or set()
    head = "".join(f"<th>{_e(header)}</th>" for header in headers)
    body = []
    for row in rows:
        cells = "".join(f'<td class="num">{cell}</td>' if index in numeric else f"<td>{cell}</td>"
                        for index, cell in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _styled(text: str, prefix: str) -> str:
    return f'<span class="{prefix}-{_e(text)}">{_e(text)}</span>'


def _header(report: dict[str, Any]) -> list[str]:
    verdict = str(report.get("verdict") or "error")
    parts = [f"<h1>nanfix: <code>{_e(os.path.basename(report.get('script') or ''))}</code> "
             f'<span class="verdict verdict-{_e(verdict)}">{_e(verdict.upper())}</span></h1>',
             f'<p class="dim">{_e(report.get("script"))}'
             + (f" {_e(' '.join(report.get('argv') or []))}" if report.get("argv") else "") + "</p>"]
    if report.get("summary"):
        parts.append(f'<p class="summary">{_e(report["summary"])}</p>')
    if report.get("verdict_reason"):
        parts.append(f'<p class="summary"><strong>{_e(report["verdict_reason"])}</strong></p>')
    cause = report.get("likely_cause")
    if cause:
        confirmed = (f" Confirmed: fix <code>{_e(cause['confirmed_by'])}</code> cures it."
                     if cause.get("confirmed_by") else "")
        parts.append(f'<p class="cause"><strong>Likely cause:</strong> <code>{_e(cause["code"])}</code> '
                     f"{_e(cause['title'])}: {_e(cause['message'])}.{confirmed}</p>")
    capture = report.get("capture") or {}
    if capture.get("model"):
        optimizer = capture.get("optimizer") or {}
        settings = ", ".join(f"{key}={_number(value)}" for key, value in optimizer.items() if key != "class")
        parts.append(f'<p class="dim">{_e(probed_line(capture, settings))}</p>')
    if report.get("resume"):
        parts.append(f'<p class="dim">{_e(resumed_line(report["resume"]))}</p>')
    if draws_line(capture or {}):
        parts.append(f'<p class="dim">{_e(draws_line(capture))}</p>')
    return parts


def _error(report: dict[str, Any]) -> list[str]:
    error = report.get("error")
    if not error:
        return []
    parts = ["<h2>Error</h2>", f'<div class="error"><p><strong>{_e(error.get("type"))}:</strong> '
             f"{_e(error.get('message'))}</p>"]
    if error.get("where"):
        parts.append(f"<p>at <code>{_e(error['where'])}</code></p>")
    if error.get("hint"):
        parts.append(f"<p>{_e(error['hint'])}</p>")
    parts.append("</div>")
    if error.get("detail"):
        parts.append(f"<details><summary>Traceback</summary><pre>{_e(error['detail'])}</pre></details>")
    return parts


def _findings(report: dict[str, Any]) -> list[str]:
    findings = report.get("findings") or []
    if not findings:
        return []
    rows = [[_styled(f["severity"], "sev"), f"<code>{_e(f['code'])}</code>", _e(f["title"]),
             _e(f["message"]), f"<code>{_e(f['where'])}</code>" if f.get("where") else ""]
            for f in findings]
    return ["<h2>Findings</h2>", _table(["severity", "code", "finding", "evidence", "where"], rows),
            '<p class="dim"><code>nanfix explain CODE</code> says why each matters and how to fix it.</p>']


def _seeds(report: dict[str, Any]) -> list[str]:
    baseline = report.get("baseline")
    if not baseline:
        return []
    rows = [[_e(run["seed"]), _styled(run["outcome"], "out"), _e(run.get("steps_run")),
             _e(f"{_number(run.get('start_loss'))} → {_number(run.get('final_loss'))}"),
             _e(_number(run.get("val_accuracy"), 3)), _e(run.get("reason"))]
            for run in baseline.get("runs") or []]
    return [f"<h2>Baseline: {_e(baseline.get('summary'))}</h2>",
            _table(["seed", "outcome", "steps", "loss start → end", "accuracy", "why"], rows, {0, 2, 4})]


def _plot(report: dict[str, Any]) -> list[str]:
    if not plot.curves(report):
        return []
    return ["<h2>Loss curves</h2>", f'<figure class="plot">{plot.svg_text(report)}</figure>']


def _diff(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if line.startswith(("+++", "---")):
            lines.append(f"<strong>{_e(line)}</strong>")
        elif line.startswith("+"):
            lines.append(f'<span class="add">{_e(line)}</span>')
        elif line.startswith("-"):
            lines.append(f'<span class="del">{_e(line)}</span>')
        elif line.startswith("@@"):
            lines.append(f'<span class="hunk">{_e(line)}</span>')
        else:
            lines.append(_e(line))
    return "\n".join(lines)


def _fixes(report: dict[str, Any]) -> list[str]:
    fixes = report.get("fixes") or []
    if not fixes:
        if report.get("verdict") in ("diverges", "stalls"):
            return ["<h2>Fixes</h2>", "<p>No fixes were tried (--no-fixes, or the time limit ran out).</p>"]
        return []
    rows = [[_e(fix.get("rank")), f"<code>{_e(fix['id'])}</code>", _e("; ".join(fix.get("changes") or [])),
             _styled(fix["outcome"], "out"), _e(f"{fix['seeds_ok']}/{fix['seeds']}"),
             _e(_number(fix.get("final_loss"))), _e(_number(fix.get("val_accuracy"), 3)), _e(fix.get("note"))]
            for fix in fixes]
    parts = ["<h2>Fixes, best first</h2>",
             _table(["#", "fix", "change", "outcome", "seeds ok", "loss", "accuracy", "note"], rows,
                    {0, 4, 5, 6})]
    best = fixes[0]
    if best.get("outcome") == "cures":
        parts.append(f"<h2>Top fix: {_e(best['title'])}</h2>")
        if best.get("note"):
            parts.append(f"<p>{_e(best['note'])}</p>")
        if best.get("diff"):
            parts.append(f'<pre class="diff">{_diff(best["diff"])}</pre>')
        elif best.get("snippet"):
            parts.append(f'<pre class="snippet">{_e(best["snippet"])}</pre>')
    else:
        parts.append("<p>No candidate cured every seed; the best partial fixes are listed above.</p>")
    return parts


def _sweep(report: dict[str, Any]) -> list[str]:
    sweep = report.get("sweep")
    if not sweep:
        return []
    rows = [[_e(_number(entry.get("value"))), _styled(str(entry.get("outcome")), "out"),
             _e(f"{entry.get('seeds_ok')}/{entry.get('seeds')}"), _e(_number(entry.get("final_loss"))),
             _e(_number(entry.get("val_accuracy"), 3))] for entry in sweep.get("values") or []]
    parts = [f"<h2>Sweep of {_e(sweep.get('axis'))}</h2>",
             _table(["value", "outcome", "seeds ok", "final loss", "accuracy"], rows, {0, 2, 3, 4})]
    if sweep.get("stable_range"):
        parts.append(f"<p><strong>{_e(sweep['stable_range'])}</strong></p>")
    return parts


def _settings(report: dict[str, Any]) -> list[str]:
    settings = report.get("settings") or {}
    if not settings:
        return []
    rows = []
    for key, value in settings.items():
        if isinstance(value, dict) and key == "thresholds":
            rows += [[_e(f"thresholds.{name}"), _e(number)] for name, number in value.items()]
        else:
            rows.append([_e(key), _e(value if isinstance(value, str) else json.dumps(value))])
    return ["<h2>Settings</h2>", _table(["key", "value"], rows)]


def _output(report: dict[str, Any]) -> list[str]:
    output = (report.get("script_output") or "").strip()
    if not output:
        return []
    return [f"<details><summary>Last output of the script</summary><pre>{_e(output)}</pre></details>"]


def render(report: dict[str, Any]) -> str:
    """The whole page as a string."""
    verdict = str(report.get("verdict") or "error")
    title = f"nanfix: {verdict.upper()} · {os.path.basename(report.get('script') or '')}"
    body = (_header(report) + _error(report) + _plot(report) + _findings(report) + _seeds(report)
            + _sweep(report) + _fixes(report) + _settings(report) + _output(report))
    footer = (f'<p class="dim">{float(report.get("elapsed_s") or 0):.1f} s · nanfix '
              f'{_e(report.get("nanfix_version"))} · report schema {_e(report.get("schema"))}</p>')
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
        *body, footer, "</body>", "</html>", ""])


def write_html(report: dict[str, Any], path: str) -> None:
    """Write the report as one self-contained HTML page to `path`."""
    write_text(path, render(report))
