"""A cure is checked on the script the user would keep: its diff applied to a copy of the
script, that copy run to its fit and probed on the same seeds. A fix whose patched script
does not cure (an edit written otherwise than it was measured, code the diff breaks before
fit) is not reported as a cure, and its note says why; the next cure is checked instead.

Only cures with a diff are checked (a snippet is not a script to run); `--apply` writes the
first one that passes. The patched copy runs in the script's own place (its path, folder and
arguments), up to its fit, as the script itself did, and is never written to disk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nanfix.config import Settings
from nanfix.fixes.source.apply import PatchError, apply_diff
from nanfix.probes.build import build_trainer
from nanfix.probes.run import Deadline
from nanfix.probes.setup import TrainSetup
from nanfix.probes.stack import probe_seeds
from nanfix.records import FixOutcome, FixResult

MAX_CHECKED = 3  # cures checked before giving up on finding one whose patched script cures
Reload = Callable[[str], TrainSetup]  # the setup a patched copy of the script trains


def verify_from_diffs(results: list[FixResult], source: str, reload: Reload, settings: Settings,
                      deadline: Deadline, seeds: list[int], emit: Callable[[dict[str, Any]], None]) -> None:
    """Check the ranked cures on their patched scripts until one passes (at most
    `MAX_CHECKED`); a cure that does not pass is demoted, in place."""
    checked = 0
    for result in results:
        if checked == MAX_CHECKED or deadline.passed():
            return
        if result.outcome is not FixOutcome.CURES or not result.diff:
            continue
        checked += 1
        emit({"event": "phase", "phase": f"checking {result.id} on its patched script"})
        failure = _failure(result, source, reload, settings, deadline, seeds)
        if failure is None:
            result.verified = True
            return
        result.verified = False
        result.outcome = FixOutcome.IMPROVES if result.seeds_ok else FixOutcome.FAILS
        result.note = f"its patched script does not cure: {failure}; {result.note}"


def _failure(result: FixResult, source: str, reload: Reload, settings: Settings,
             deadline: Deadline, seeds: list[int]) -> str | None:
    """Why the patched script does not cure, or None when it does on every seed."""
    try:
        setup = reload(apply_diff(source, result.diff))
    except PatchError as error:
        return f"the diff does not apply ({error})"
    except Exception as error:  # noqa: BLE001 - the patched script is the user's code
        message = getattr(error, "message", None) or str(error)
        return f"it fails before fit: {message.splitlines()[0] if message else type(error).__name__}"
    try:
        probed = probe_seeds(setup, build_trainer(setup, settings.eval_samples), f"{result.id} (patched)",
                             settings, deadline, seeds=seeds, stop_on_explosion=True)
    except Exception as error:  # noqa: BLE001 - a patched model that cannot train is a failure
        return f"it cannot train: {type(error).__name__}: {error}"
    bad = [run for run in probed.runs if not run.ok]
    return f"{bad[0].reason} (seed {bad[0].seed})" if bad else None
