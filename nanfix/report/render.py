r"""Dispatch a report dict to the renderer the user asked for.

Everything in a report that came from the user (file, model and layer names, exception
messages, the script's output) is shown as text: control characters are made visible
(`visible`) before a terminal, Markdown or GitHub renderer sees them, so an escape sequence in
a message cannot reach the terminal; the terminal renderer passes user text as rich `Text`,
never as markup.

>>> visible("boom \x1b[31mred\x1b[0m\tdone\n")
'boom \\x1b[31mred\\x1b[0m\tdone\n'
"""

from __future__ import annotations

import json
import re
from typing import Any

from rich.console import Console

from nanfix.records import map_strings

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """`text` with its control characters (but newlines and tabs) written out: `\x1b`."""
    return CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def as_text(report: dict[str, Any], output_format: str) -> str:
    if output_format == "json":
        return json.dumps(report, indent=2, allow_nan=False)
    report = map_strings(report, visible)
    if output_format == "markdown":
        from nanfix.report.markdown import render

        return render(report)
    if output_format == "github":
        from nanfix.report.github import annotations

        return annotations(report)
    raise ValueError(f"unknown format {output_format}")


def to_terminal(report: dict[str, Any], console: Console, terse: bool = False,
                debug: bool = False) -> None:
    from nanfix.report.terminal import render_report

    render_report(map_strings(report, visible), console, terse=terse, debug=debug)


def extras(report: dict[str, Any], junit: str | None = None, plot: str | None = None,
           html: str | None = None, github_summary: bool = False) -> None:
    """Files CI keeps: JUnit XML, a plot, an HTML page, the GitHub step summary."""
    if junit:
        from nanfix.report.junit import write_junit

        write_junit(report, junit)
    if plot:
        from nanfix.report.plot import write_plot

        write_plot(report, plot)
    if html:
        from nanfix.report.html import write_html

        write_html(report, html)
    if github_summary:
        from nanfix.report.github import append_step_summary

        append_step_summary(report)
