"""The report for people: a verdict panel, findings, per-seed outcomes, ranked fixes, a diff.

Rich honours NO_COLOR and plain (non-terminal) output, so the same code writes clean CI logs.
"""

from __future__ import annotations

import math
import os
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from nanfix.records import median
from nanfix.report.captured import draws_line, probed_line, resumed_line

VERDICT_STYLE = {"healthy": "bold green", "diverges": "bold red", "stalls": "bold yellow",
                 "error": "bold magenta"}
SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}
OUTCOME_STYLE = {"healthy": "green", "diverged": "red", "stalled": "yellow", "crashed": "magenta",
                 "timed_out": "magenta", "cures": "bold green", "improves": "yellow", "fails": "red"}
BARS = "▁▂▃▄▅▆▇█"


def shown_path(path: str) -> str:
    """The script as the user would type it: relative to the current directory when inside it."""
    if not path or not os.path.isabs(path):
        return path
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def sparkline(values: list[float | None], width: int = 24) -> str:
    """Loss curve in one line; log-scaled when it spans decades; × marks non-finite steps."""
    if not values:
        return ""
    step = max(1, math.ceil(len(values) / width))
    buckets = [values[i:i + step] for i in range(0, len(values), step)]
    points = []
    for bucket in buckets:
        finite = [v for v in bucket if v is not None]
        points.append(None if len(finite) < len(bucket) else sum(finite) / len(finite))
    finite = [p for p in points if p is not None]
    if not finite:
        return "×" * len(points)
    low, high = min(finite), max(finite)
    use_log = low > 0 and high / max(low, 1e-30) > 100
    scale = (lambda v: math.log10(v)) if use_log else (lambda v: v)
    lo, hi = scale(low), scale(high)
    span = (hi - lo) or 1.0
    return "".join("×" if p is None else BARS[min(7, int((scale(p) - lo) / span * 7.999))] for p in points)


def _number(value: Any, digits: int = 4) -> str:
    if value is None:
        return "nan"
    if isinstance(value, float):
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.2e}"
        return f"{value:.{digits}g}"
    return str(value)


def render_report(report: dict[str, Any], console: Console, terse: bool = False,
                  debug: bool = False) -> None:
    console.print(_verdict_panel(report))
    notes = (report.get("notebook") or {}).get("cells_skipped_or_changed") or []
    if notes:  # a notebook run as one script: what of it was not plain Python
        console.print(Text("Notebook: " + "; ".join(notes[:8]) + (" ..." if len(notes) > 8 else ""),
                           style="dim"))
    if report.get("error"):
        _render_error(report, console, debug)
        if not report.get("fixes"):  # a training its data stops can still have a measured cure
            return
    findings = report.get("findings", [])
    if findings:
        console.print(_findings_table(findings, terse))
    if report.get("sweep"):  # the axis is what was asked for: it comes last, under the findings
        _render_sweep(report["sweep"], console)
        return
    baseline = report.get("baseline")
    regression = _regression(report)
    if baseline and not terse:
        console.print(_seeds_table(baseline, regression))
    fixes = report.get("fixes", [])
    if fixes:
        console.print(_fixes_table(fixes, baseline, terse, regression))
        if not terse:
            _render_budget(report.get("budget"), console)
            _render_top_fix(fixes, console)
    elif report.get("verdict") in ("diverges", "stalls") and not terse and not report.get("sweep"):
        console.print("No fixes were tried (--no-fixes, or the time limit ran out).")


def _verdict_panel(report: dict[str, Any]) -> Panel:
    verdict = report.get("verdict", "error")
    lines = [Text.assemble(("Verdict: ", "bold"), (verdict.upper(), VERDICT_STYLE.get(verdict, "bold")))]
    if report.get("summary"):
        lines.append(Text(report["summary"]))
    if report.get("verdict_reason"):
        lines.append(Text(report["verdict_reason"], style="yellow"))
    cause = report.get("likely_cause")
    if cause:
        confirmed = f" (confirmed: fix {cause['confirmed_by']} cures it)" if cause.get("confirmed_by") else ""
        lines.append(Text.assemble(("Likely cause: ", "bold"), f"{cause['code']} {cause['title']}{confirmed}"))
    capture = report.get("capture") or {}
    if capture.get("model"):
        optimizer = capture.get("optimizer", {})
        settings = ", ".join(f"{k}={_number(v)}" for k, v in optimizer.items()
                             if k != "class" and v is not None and v is not False)
        lines.append(Text(probed_line(capture, settings), style="dim"))
    if report.get("resume"):
        lines.append(Text(resumed_line(report["resume"]), style="dim"))
    if draws_line(capture):
        lines.append(Text(draws_line(capture), style="yellow"))
    settings = report.get("settings") or {}
    own = (capture.get("fit_steps") if capture else None)
    horizon = f" (its own fit: {own:,} steps)" if own else ""
    lines.append(Text(f"{settings.get('seeds', '?')} seeds × {settings.get('steps', '?')} steps{horizon} · "
                      f"{report.get('elapsed_s', 0):.1f} s", style="dim"))
    title = Text(f"nanfix · {shown_path(report.get('script', ''))}")  # a file name is text, never markup
    return Panel(Group(*lines), title=title, title_align="left",
                 border_style=VERDICT_STYLE.get(verdict, "white").replace("bold ", ""))


def _render_error(report: dict[str, Any], console: Console, debug: bool = False) -> None:
    error = report["error"]
    body = [Text(error.get("message") or "", style="bold")]
    if error.get("where"):
        body.append(Text(f"at {error['where']}"))
    if error.get("hint"):
        body.append(Text(error["hint"]))
    output = (report.get("script_output") or "").strip()
    if output and error.get("type") in ("crashed", "memory", "timeout", "internal", "script_error"):
        # a script that stopped itself (argparse's usage error) said why in its own output
        tail = "\n".join(output.splitlines()[-8:])
        body.append(Text("last output of the script:\n" + tail, style="dim"))
    if not debug and error.get("detail"):
        body.append(Text("Run with --debug for the full traceback.", style="dim"))
    console.print(Panel(Group(*body), title=f"error: {error.get('type')}", title_align="left",
                        border_style="magenta"))


def _findings_table(findings: list[dict[str, Any]], terse: bool) -> Table:
    """One row per finding: the title in bold with its evidence under it, and where."""
    table = Table(title="Findings", title_justify="left", show_lines=True, expand=False)
    table.add_column("sev")
    table.add_column("code", style="bold")
    table.add_column("finding", ratio=1)
    if not terse:
        table.add_column("where", no_wrap=True)
    for finding in findings:
        severity = finding["severity"]
        body = Text.assemble((finding["title"], "bold"), "\n", finding["message"])
        row = [Text(severity, style=SEVERITY_STYLE.get(severity, "")), finding["code"], body]
        if not terse:
            row.append(Text(finding.get("where") or ""))
        table.add_row(*row)
    return table


def _regression(report: dict[str, Any]) -> bool:
    """A task without accuracy: its tables show the loss against the best constant guess."""
    return ((report.get("capture") or {}).get("task") or {}).get("kind") == "regression"


def _against_guess(runs: list[dict[str, Any]]) -> float | None:
    """The median final loss against the loss of predicting the targets' best constant (1: the
    mean was all it learned), on each run's own scale."""
    ratios = []
    for run in runs:
        guess = (run.get("signals") or {}).get("constant_guess_loss")
        if run.get("final_loss") is not None and guess:
            ratios.append(run["final_loss"] / guess)
    return median(ratios)


def _seeds_table(baseline: dict[str, Any], regression: bool = False) -> Table:
    table = Table(title=f"Baseline: {baseline['summary']}", title_justify="left")
    columns = ("seed", "outcome", "steps", "loss start → end", "loss curve", "why")
    if not regression:
        columns = (*columns[:4], "accuracy", *columns[4:])
    for column in columns:
        table.add_column(column)
    for run in baseline["runs"]:
        cells = [str(run["seed"]), Text(run["outcome"], style=OUTCOME_STYLE.get(run["outcome"], "")),
                 str(run["steps_run"]), f"{_number(run['start_loss'])} → {_number(run['final_loss'])}"]
        if not regression:
            cells.append(_number(run.get("val_accuracy"), 3))
        table.add_row(*cells, sparkline(run.get("loss_history", [])),
                      Text((run.get("reason") or "").split(", created at")[0]))
    return table


FIXES_SHOWN = 10  # rows of the fixes table; the JSON report has them all


def _fixes_table(fixes: list[dict[str, Any]], baseline: dict[str, Any] | None, terse: bool,
                 regression: bool = False) -> Table:
    """The ranked fixes: what changes, what was measured; why a non-cure is not one. A
    regression's fixes are compared on one scale, the loss against the best constant guess
    (a fix that rescales the targets changes the raw loss's units), the raw loss beside it."""
    runs = baseline["runs"] if baseline else []
    base_loss = median([run["final_loss"] for run in runs])
    if regression:
        title = f"Fixes, best first (baseline: loss {_number(base_loss)}, {_number(_against_guess(runs))} of the guess)"
        columns = ("#", "fix", "outcome", "seeds ok", "loss / guess", "loss")
    else:
        base_acc = median([run["val_accuracy"] for run in runs])
        title = f"Fixes, best first (baseline: loss {_number(base_loss)}, accuracy {_number(base_acc, 3)})"
        columns = ("#", "fix", "outcome", "seeds ok", "loss", "accuracy")
    table = Table(title=title, title_justify="left", caption_justify="left")
    for column in columns:
        table.add_column(column, ratio=1 if column == "fix" else None,
                         no_wrap=column in ("outcome", "seeds ok"))
    for fix in fixes[:FIXES_SHOWN]:
        body = Text.assemble((fix["title"], "bold" if fix["outcome"] == "cures" else ""),
                             (f"  {fix['id']}", "dim"))
        if not terse and fix["outcome"] != "cures" and fix.get("note"):
            body.append("\n" + fix["note"], style="dim")
        measured = ([_number(_against_guess(fix.get("runs") or [])), _number(fix.get("final_loss"))] if regression
                    else [_number(fix.get("final_loss")), _number(fix.get("val_accuracy"), 3)])
        table.add_row(str(fix["rank"]), body, Text(fix["outcome"], style=OUTCOME_STYLE.get(fix["outcome"], "")),
                      f"{fix['seeds_ok']}/{fix['seeds']}", *measured)
    captions = []
    if regression:
        captions.append("loss / guess: the final loss against predicting the targets' best constant "
                        "(1: nothing learned beyond the mean), each fix on its own loss's scale.")
    if len(fixes) > FIXES_SHOWN:
        captions.append(f"{len(fixes) - FIXES_SHOWN} more measured; --format json lists them all.")
    table.caption = " ".join(captions) or None
    return table


def _render_budget(budget: dict[str, Any] | None, console: Console) -> None:
    """One line: what the sweep could spend, spent, and what it left out."""
    if not budget:
        return
    limit = "no limit" if budget.get("steps") is None else f"{budget['steps']:,} probed steps"
    line = f"Sweep budget: {limit}, {budget.get('spent', 0):,} spent, {budget.get('tried', 0)} fixes tried"
    if budget.get("executor") == "ray":
        line += f" on {budget.get('workers', 1)} Ray workers"
    if budget.get("steps") is not None and budget.get("spent", 0) > budget["steps"]:
        line += (f" (over it: {budget.get('min_candidates', 6)} fixes always get a first seed and "
                 "one is verified)")
    left_out = budget.get("not_tried") or []
    if left_out:
        line += f"; not tried: {', '.join(left_out[:6])}" + (" ..." if len(left_out) > 6 else "")
    if not budget.get("complete", True):
        line += " (incomplete: the time limit cut the sweep)"
    console.print(Text(line, style="dim"))


def _render_top_fix(fixes: list[dict[str, Any]], console: Console) -> None:
    best = fixes[0]
    if best["outcome"] != "cures":
        console.print(Text("No candidate cured every seed; the best partial fixes are listed above.",
                           style="yellow"))
        return
    console.print(Text.assemble(("Top fix: ", "bold green"), best["title"]))
    if best.get("note"):
        console.print(best["note"])
    if best.get("diff"):
        print_code(console, best["diff"], "diff")
    elif best.get("snippet"):
        print_code(console, best["snippet"], "python")


def print_code(console: Console, code: str, lexer: str) -> None:
    """Code and diffs in full lines, never wrapped or cut at the console's width: the changed
    text is often at the end of a long line, and a CI log must show it."""
    width = max((len(line) for line in code.splitlines()), default=1)
    console.print(Syntax(code, lexer, theme="ansi_dark", background_color="default",
                         code_width=width, word_wrap=False), crop=False)


def _render_sweep(sweep: dict[str, Any], console: Console) -> None:
    table = Table(title=f"Sweep of {sweep.get('axis')}", title_justify="left")
    for column in ("value", "outcome", "seeds ok", "final loss", "accuracy", ""):
        table.add_column(column)
    values = sweep.get("values", [])
    losses = [v.get("final_loss") for v in values if v.get("final_loss") is not None]
    top = max(losses) if losses else 1.0
    for entry in values:
        loss = entry.get("final_loss")
        bar = "" if loss is None else "█" * max(1, int(20 * math.log1p(loss) / math.log1p(top or 1.0))) if top else ""
        table.add_row(_number(entry["value"]), Text(entry["outcome"], style=OUTCOME_STYLE.get(entry["outcome"], "")),
                      f"{entry['seeds_ok']}/{entry['seeds']}", _number(loss), _number(entry.get("val_accuracy"), 3),
                      bar if loss is not None else "×")
    console.print(table)
    if sweep.get("stable_range"):
        console.print(Text(sweep["stable_range"], style="bold"))




def reflow(text: str) -> str:
    """Explanations are written wrapped at ~95 columns; join their lines so the console wraps
    them at its own width. A line ending a sentence before a capitalised line, or a blank
    line, keeps its break."""
    out: list[str] = []
    for line in text.strip().splitlines():
        line = line.strip()
        if not line:
            out.append("")
        elif out and out[-1] and not (out[-1].endswith((".", ":")) and line[:1].isupper()):
            out[-1] += " " + line
        else:
            out.append(line)
    return "\n".join(out)


def render_rule(entry: Any, fix_families: list[str], console: Console) -> None:
    """One catalog entry, as `nanfix explain CODE` prints it: its sections in the catalog's
    order, the example as code, and the limits it judges by (overridable by its name)."""
    body = [Text(f"{entry.code} {entry.name}: {entry.title}", style="bold"),
            Text(f"severity: {entry.severity.value} · found by: {entry.stage.value} · fixes tried: "
                 f"{', '.join(fix_families) or '-'}", style="dim")]
    if entry.limits:
        limits = ", ".join(f"{name}={value:g}" for name, value in entry.limits.items())
        body.append(Text(f"limits: {limits} (override in [tool.nanfix.rules.{entry.name}])", style="dim"))
    for name, text in entry.explanation.sections.items():
        body += [Text(""), Text(name.capitalize(), style="bold")]
        if name == "example":
            code = "\n".join(line for line in text.splitlines() if not line.strip().startswith("```"))
            body.append(Syntax(code, "python", theme="ansi_dark", background_color="default"))
        else:
            body.append(Text(reflow(text)))
    console.print(Panel(Group(*body), title=entry.code, title_align="left"))


def render_rules(entries: list[Any], console: Console) -> None:
    table = Table(title="nanfix findings", title_justify="left")
    for column in ("code", "name", "severity", "stage", "title"):
        table.add_column(column)
    for entry in sorted(entries, key=lambda e: e.code):
        table.add_row(entry.code, entry.name, Text(entry.severity.value, style=SEVERITY_STYLE[entry.severity.value]),
                      entry.stage.value, entry.title)
    console.print(table)
    console.print("`nanfix explain CODE` prints what a finding means and how to fix it.")


def render_config(settings: Any, sources: dict[str, str], console: Console) -> None:
    table = Table(title="Effective configuration", title_justify="left")
    for column in ("key", "value", "from"):
        table.add_column(column)
    from nanfix import findings

    data = settings.to_dict()
    for key, value in data.items():
        if key == "thresholds":
            for name, number in value.items():
                table.add_row(f"thresholds.{name}", str(number), sources.get(f"thresholds.{name}", "default"))
            continue
        if key == "rules":  # every rule's own limits, as they apply
            for code, entry in sorted(findings.RULES.items()):
                for name, number in entry.limits_under(settings).items():
                    table.add_row(f"rules.{entry.name}.{name} ({code})", f"{number:g}",
                                  sources.get(f"rules.{code}.{name}", "default"))
            continue
        table.add_row(key, str(value), sources.get(key, "default"))
    console.print(table)
