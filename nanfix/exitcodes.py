"""Exit codes, in the convention of ruff and mypy (documented in README.md).

0  healthy (or --exit-zero)
1  a training problem: the verdict is `diverges` or `stalls` (for `check`, per --fail-on; a
   task that a finding makes meaningless, `verdict_reason`, fails every --fail-on)
2  usage or configuration error: bad flags, missing file, malformed config or dataset config
3  the user's script failed: it raised, never reached fit, crashed, hung or ran out of memory
4  nanfix itself failed (a bug: please report it with --debug)
"""

from __future__ import annotations

from typing import Any

from nanfix.records import ErrorKind, Verdict

HEALTHY = 0
TRAINING_PROBLEM = 1
USAGE = 2
SCRIPT_FAILED = 3
INTERNAL = 4


def for_error(kind: ErrorKind) -> int:
    """The exit code of a run that gave no verdict on training."""
    if kind.is_usage:
        return USAGE
    if kind is ErrorKind.INTERNAL:
        return INTERNAL
    return SCRIPT_FAILED


def for_report(report: dict[str, Any], fail_on: str = "any") -> int:
    """The exit code a report (as JSON data) deserves. fail_on: diverges | stalls | any."""
    verdict = Verdict(report.get("verdict"))
    if verdict is Verdict.ERROR:
        kind = (report.get("error") or {}).get("type")
        try:
            return for_error(ErrorKind(kind))
        except ValueError:  # a report from another version: its script failed, as far as we know
            return SCRIPT_FAILED
    if verdict is Verdict.DIVERGES and fail_on in ("diverges", "any", "stalls"):
        return TRAINING_PROBLEM
    if verdict is Verdict.STALLS and report.get("verdict_reason"):
        return TRAINING_PROBLEM  # a task its own data make meaningless fails every gate
    if verdict is Verdict.STALLS and fail_on in ("stalls", "any"):
        return TRAINING_PROBLEM
    return HEALTHY
