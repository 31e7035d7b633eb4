"""The report as Markdown: for PR comments, GitHub step summaries and recipe READMEs."""

from __future__ import annotations

from typing import Any

from nanfix.report.captured import draws_line, resumed_line


def _cell(value: Any) -> str:
    if value is None:
        return "nan"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def render(report: dict[str, Any]) -> str:
    lines = [f"## nanfix: `{report.get('script', '')}` — **{report.get('verdict', 'error').upper()}**", ""]
    if report.get("summary"):
        lines += [report["summary"], ""]
    if report.get("verdict_reason"):
        lines += [f"**{report['verdict_reason']}**", ""]
    cause = report.get("likely_cause")
    if cause:
        lines += [f"**Likely cause:** {cause['code']} {cause['title']} — {cause['message']}", ""]
    if report.get("resume"):
        lines += [resumed_line(report["resume"]), ""]
    if draws_line(report.get("capture") or {}):
        lines += [draws_line(report["capture"]), ""]
    error = report.get("error")
    if error:
        lines += [f"**Error ({error.get('type')}):** {error.get('message')}", ""]
        if error.get("where"):
            lines += [f"at `{error['where']}`", ""]
        if error.get("hint"):
            lines += [error["hint"], ""]
    if report.get("findings"):
        lines += ["### Findings", "", "| severity | code | finding | evidence | where |", "|---|---|---|---|---|"]
        for finding in report["findings"]:
            lines.append(f"| {finding['severity']} | {finding['code']} | {_cell(finding['title'])} | "
                         f"{_cell(finding['message'])} | {_cell(finding.get('where') or '')} |")
        lines.append("")
    baseline = report.get("baseline")
    if baseline:
        lines += ["### Baseline probe", "", "| seed | outcome | steps | loss start → end | accuracy | why |",
                  "|---|---|---|---|---|---|"]
        for run in baseline["runs"]:
            lines.append(f"| {run['seed']} | {run['outcome']} | {run['steps_run']} | "
                         f"{_cell(run['start_loss'])} → {_cell(run['final_loss'])} | "
                         f"{_cell(run.get('val_accuracy'))} | {_cell(run.get('reason'))} |")
        lines.append("")
    sweep = report.get("sweep")
    if sweep:
        lines += [f"### Sweep of {sweep.get('axis')}", "", "| value | outcome | seeds ok | final loss | accuracy |",
                  "|---|---|---|---|---|"]
        for entry in sweep.get("values", []):
            lines.append(f"| {_cell(entry['value'])} | {entry['outcome']} | {entry['seeds_ok']}/{entry['seeds']} | "
                         f"{_cell(entry.get('final_loss'))} | {_cell(entry.get('val_accuracy'))} |")
        if sweep.get("stable_range"):
            lines += ["", f"**{sweep['stable_range']}**"]
        lines.append("")
    fixes = report.get("fixes") or []
    if fixes:
        lines += ["### Fixes, best first", "", "| # | fix | change | outcome | seeds ok | loss | accuracy | note |",
                  "|---|---|---|---|---|---|---|---|"]
        for fix in fixes:
            lines.append(f"| {fix['rank']} | {fix['id']} | {_cell('; '.join(fix['changes']))} | {fix['outcome']} | "
                         f"{fix['seeds_ok']}/{fix['seeds']} | {_cell(fix.get('final_loss'))} | "
                         f"{_cell(fix.get('val_accuracy'))} | {_cell(fix.get('note') or '')} |")
        best = fixes[0]
        if best["outcome"] == "cures" and (best.get("diff") or best.get("snippet")):
            lines += ["", f"**Top fix:** {best['title']}", "",
                      "```diff" if best.get("diff") else "```python", best.get("diff") or best.get("snippet"), "```"]
        lines.append("")
    lines.append(f"_{report.get('elapsed_s', 0):.1f} s · nanfix {report.get('nanfix_version', '')}_")
    return "\n".join(lines) + "\n"
