"""The live progress display while probes run (interactive terminals only).

CI logs stay clean: when stderr is not a terminal, or with --no-progress, nothing is drawn.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


class ProgressDisplay:
    def __init__(self, console: Console, enabled: bool):
        self.enabled = enabled
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 TimeElapsedColumn(), console=console, transient=True) if enabled else None
        self.task = None

    def __enter__(self) -> ProgressDisplay:
        if self.progress:
            self.progress.start()
            self.task = self.progress.add_task("starting", total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress:
            self.progress.stop()

    def update(self, event: dict[str, Any]) -> None:
        if not self.progress:
            return
        kind = event.get("event")
        if kind == "phase":
            self.progress.update(self.task, description=escape(event["phase"]), total=None, completed=0)
        elif kind == "step":
            total = event["steps"] * event["seeds"]
            done = event["seed_index"] * event["steps"] + event["step"]
            label = event.get("label") or "probe"
            self.progress.update(self.task, total=total, completed=done,
                                 description=escape(f"{label}: seed {event['seed_index'] + 1}/{event['seeds']}"))
        elif kind == "candidate":
            self.progress.update(self.task, total=event["total"], completed=event["index"],
                                 description=escape(f"fix {event['index'] + 1}/{event['total']}: "
                                                    f"{event.get('title', event.get('id'))}"))
