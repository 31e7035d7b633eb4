"""Exit codes, in the convention of ruff and mypy (documented in README.md).

0  healthy (or --exit-zero)
1  a training problem: the verdict is `diverges` or `stalls` (for `check`, per --fail-on)
2  usage or configuration error: bad flags, missing file, malformed config or dataset config
3  the user's script failed: it raised, never reached fit, crashed, hung or ran out of memory
4  nanfix itself failed (a bug: please report it with --debug)
"""

from __future__ import annotations

from typing import Any

HEALTHY = 0
TRAINING_PROBLEM = 1
USAGE = 2
SCRIPT_FAILED = 3
INTERNAL = 4

# error.type values that are the user's configuration rather than their script
CONFIG_ERRORS = {"data_config", "usage", "config"}


def for_report(report: dict[str, Any], fail_on: str = "any") -> int:
    """The exit code a report deserves. fail_on: diverges | stalls | any."""
    verdict = report.get("verdict")
    if verdict == "error":
        kind = (report.get("error") or {}).get("type")
        if kind in CONFIG_ERRORS:
            return USAGE
        if kind == "internal":
            return INTERNAL
        return SCRIPT_FAILED
    if verdict == "diverges" and fail_on in ("diverges", "any", "stalls"):
        return TRAINING_PROBLEM
    if verdict == "stalls" and fail_on in ("stalls", "any"):
        return TRAINING_PROBLEM
    return HEALTHY
