"""The report as GitHub Actions workflow commands: annotations on the lines to blame.

Each finding becomes one `::error`, `::warning` or `::notice` command (by its severity) on
the user's line it names: the layer that made the first non-finite value, the `compile`
call for optimiser and loss findings. A finding that names no line is pinned to the line
its rule points at (`Rule.points_at`: the optimizer, the fit, the first non-finite layer, or
compile), so it still shows in the pull request's diff. A measured cure adds a notice on the
line it changes, and a last line
states the verdict. GitHub wants paths relative to the repository, which is where CI runs
nanfix, so paths are made relative to the current directory.

In a workflow step::

    nanfix check train.py --format github
    # ::error file=train.py,line=34,title=nanfix N701%3A Training produces NaN/Inf::non-finite ...

`append_step_summary(report)` adds the Markdown report to the job's summary page.
"""

from __future__ import annotations

import os
import re
from typing import Any

from nanfix.capture.origins import line_number
from nanfix.findings.catalog import Line, rule_of

COMMAND = {"error": "error", "warning": "warning", "info": "notice"}
VERDICT_COMMAND = {"healthy": "notice", "diverges": "error", "stalls": "error", "error": "error"}
HUNK = re.compile(r"^@@ -(\d+)")


def escape_data(text: str) -> str:
    """Escape a command's message (after `::`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value (file=, title=): also `:` and `,`, which delimit properties."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, file: str | None = None, line: int | None = None,
            title: str | None = None) -> str:
    """One workflow command, e.g. `::error file=train.py,line=3,title=T::message`."""
    properties = []
    if file:
        properties.append(f"file={escape_property(file)}")
        if line:
            properties.append(f"line={line}")
    if title:
        properties.append(f"title={escape_property(title)}")
    head = f"::{kind} {','.join(properties)}" if properties else f"::{kind}"
    return f"{head}::{escape_data(message)}"


def script_path(report: dict[str, Any]) -> str:
    """The script as GitHub wants it: relative to the working directory (the checkout)."""
    return _relative(report.get("script") or "")


def _relative(path: str) -> str:
    if not path:
        return path
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute, os.getcwd())
    except ValueError:  # another drive on Windows
        return absolute.replace(os.sep, "/")
    if relative.startswith(os.pardir):
        return absolute.replace(os.sep, "/")  # outside the checkout: GitHub shows it unlinked
    return relative.replace(os.sep, "/")


def locate(report: dict[str, Any], origin: str | None) -> tuple[str | None, int | None]:
    """'train.py:34' → ('src/train.py', 34): origins name the script by its base name."""
    script = report.get("script") or ""
    if not origin:
        return (script_path(report) or None), None
    name, _, _ = origin.rpartition(":")
    line = line_number(origin)
    if not name or os.path.basename(name) == os.path.basename(script):
        return script_path(report) or None, line
    if not os.path.isabs(name) and script:
        name = os.path.join(os.path.dirname(script), name)
    return _relative(name), line


def _origins(report: dict[str, Any]) -> dict[str, str | None]:
    return (report.get("capture") or {}).get("origins") or {}


def _finding_origin(report: dict[str, Any], finding: dict[str, Any]) -> str | None:
    if finding.get("where"):
        return finding["where"]
    layer = (finding.get("evidence") or {}).get("layer")
    layers = ((report.get("capture") or {}).get("model") or {}).get("layers") or []
    for entry in layers:
        if layer and entry.get("name") == layer and entry.get("origin"):
            return entry["origin"]
    origins = _origins(report)
    entry = rule_of(finding["code"])
    points_at = entry.points_at if entry is not None else Line.COMPILE
    if points_at is Line.OPTIMIZER:
        return origins.get("optimizer") or origins.get("compile") or origins.get("fit")
    if points_at is Line.FIRST_NONFINITE:
        first = (report.get("baseline") or {}).get("first_nonfinite") or {}
        if first.get("origin"):
            return first["origin"]
    if points_at is Line.FIT:
        return origins.get("fit") or origins.get("compile")
    return origins.get("compile") or origins.get("fit")


def _fix_line(report: dict[str, Any], fix: dict[str, Any]) -> tuple[str | None, int | None]:
    for line in (fix.get("diff") or "").splitlines():
        match = HUNK.match(line)
        if match:
            # a hunk starts with up to 3 context lines; the first changed line follows them
            start = int(match.group(1))
            return script_path(report) or None, start + _leading_context(fix["diff"], line)
    origins = _origins(report)
    key = "fit" if fix.get("data_fix") else "compile"
    return locate(report, origins.get(key) or origins.get("compile"))


def _leading_context(diff: str, hunk_header: str) -> int:
    lines = diff.splitlines()
    index = lines.index(hunk_header) + 1
    count = 0
    while index < len(lines) and lines[index].startswith(" "):
        count += 1
        index += 1
    return count


def annotations(report: dict[str, Any]) -> str:
    """The report as workflow commands, one per line, the verdict last."""
    lines = []
    error = report.get("error")
    if error:
        file, line = locate(report, error.get("where"))
        message = error.get("message") or "nanfix could not probe the script"
        if error.get("hint"):
            message += "\n" + error["hint"]
        lines.append(command("error", message, file, line, f"nanfix: {error.get('type')}"))
    for finding in report.get("findings") or []:
        file, line = locate(report, _finding_origin(report, finding))
        message = f"{finding['message']}\nRun `nanfix explain {finding['code']}` for why and how to fix it."
        lines.append(command(COMMAND.get(finding["severity"], "warning"), message, file, line,
                             f"nanfix {finding['code']}: {finding['title']}"))
    cure = next((fix for fix in report.get("fixes") or [] if fix.get("outcome") == "cures"), None)
    if cure is not None:
        file, line = _fix_line(report, cure)
        message = (f"{cure['title']} ({'; '.join(cure.get('changes') or [])}) cured "
                   f"{cure['seeds_ok']}/{cure['seeds']} seeds.")
        lines.append(command("notice", message, file, line, f"nanfix fix {cure['id']}"))
    lines.append(_verdict_line(report))
    return "\n".join(lines)


def _verdict_line(report: dict[str, Any]) -> str:
    verdict = report.get("verdict") or "error"
    parts = [report.get("summary") or (report.get("error") or {}).get("message") or verdict]
    if report.get("verdict_reason"):
        parts.append(report["verdict_reason"])
    cause = report.get("likely_cause")
    if cause:
        parts.append(f"likely cause {cause['code']} {cause['title']}")
    fixes = report.get("fixes") or []
    cures = [fix for fix in fixes if fix.get("outcome") == "cures"]
    if cures:
        parts.append(f"{len(cures)} of {len(fixes)} fixes tried cure it, best: {cures[0]['title']}")
    file, line = locate(report, _origins(report).get("fit"))
    return command(VERDICT_COMMAND.get(verdict, "error"), "; ".join(parts), file, line,
                   f"nanfix verdict: {verdict.upper()}")


def append_step_summary(report: dict[str, Any]) -> str | None:
    """Append the Markdown report to $GITHUB_STEP_SUMMARY; return its path, or None if unset."""
    from nanfix.report.markdown import render

    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return None
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(render(report) + "\n")
    return path
