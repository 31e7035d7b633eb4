"""The one-axis sweep (`nanfix sweep train.py --lr ...`): one setting over a grid, every value
on every seed, and the range where training is stable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from nanfix import fixes as catalog
from nanfix.config import Settings
from nanfix.fixes.catalog import Fix
from nanfix.fixes.helpers import optimizer_fix
from nanfix.probes.run import Deadline
from nanfix.probes.setup import TrainSetup
from nanfix.records import Finding, Outcome, Verdict, median
from nanfix.sweep.candidate import Candidate, restoring_compile, run_seeds

Emit = Callable[[dict[str, Any]], None]

AXES = ("lr", "epsilon", "clip", "scale", "output")


def default_grid(axis: str, setup: TrainSetup, findings: Sequence[Finding] = ()) -> list[Any]:
    """The values an axis takes by default; the scalings and pairings are those their
    families propose for this script and its `findings`."""
    settings = setup.optimizer_settings
    if axis == "lr":
        rate = settings.get("learning_rate")
        rate = float(rate) if isinstance(rate, (int, float)) and rate > 0 else 0.01
        # half-decade steps from 10^-4 to 10x the script's rate, in round numbers (x1, x3)
        factors = [scale * 10.0 ** k for k in range(-4, 1) for scale in (1.0, 3.0)] + [1.0, 10.0]
        return sorted({float(f"{rate * factor:.3g}") for factor in factors})
    if axis == "epsilon":
        return [1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1]
    if axis == "clip":
        return [0.1, 0.5, 1.0, 5.0, 10.0]
    if axis == "scale":
        return ["none", *[fix.id.removeprefix("inputs-") for fix in
                          catalog.FAMILIES["input_scaling"].fixes(setup, list(findings))]]
    if axis == "output":
        return ["none", *[fix.id for fix in catalog.FAMILIES["pairing"].fixes(setup, list(findings))]]
    raise ValueError(f"unknown sweep axis {axis!r}; choose one of {', '.join(AXES)}")


def axis_fix(axis: str, value: Any, setup: TrainSetup, findings: Sequence[Finding] = ()) -> Fix | None:
    """The fix that sets `axis` to `value` (None: the script as it is)."""
    if axis == "lr":
        return optimizer_fix(setup, id=f"lr-{value:g}", family="lr", title=f"learning_rate={value:g}",
                             settings={"learning_rate": float(value)})
    if axis == "epsilon":
        return optimizer_fix(setup, id=f"epsilon-{value:g}", family="epsilon", title=f"epsilon={value:g}",
                             settings={"epsilon": float(value)})
    if axis == "clip":
        return optimizer_fix(setup, id=f"clipnorm-{value:g}", family="clipping", title=f"clipnorm={value:g}",
                             settings={"clipnorm": float(value), "clipvalue": None,
                                                   "global_clipnorm": None})
    if str(value) == "none":
        return None
    family = "input_scaling" if axis == "scale" else "pairing"
    wanted = f"inputs-{value}" if axis == "scale" and not str(value).startswith("inputs-") else str(value)
    for fix in catalog.FAMILIES[family].fixes(setup, list(findings)):
        if fix.id == wanted:
            return fix
    choices = default_grid(axis, setup, findings)
    if choices == ["none"]:
        what = "input scaling" if axis == "scale" else "output activation / loss pairing"
        raise ValueError(f"nanfix has no {what} to try for this script (asked for {value!r}): "
                         + ("its inputs are already near unit scale" if axis == "scale"
                            else "its output and loss already match"))
    raise ValueError(f"{value!r} is not a choice for --{axis} here; choose from {', '.join(map(str, choices))}")


AS_IS = Fix(id="as-is", family="none", title="the script as it is", edits=())


def sweep_axis(setup: TrainSetup, axis: str, grid: Sequence[Any] | None, settings: Settings,
               deadline: Deadline, emit: Emit | None,
               findings: Sequence[Finding] = ()) -> dict[str, Any]:
    """Every grid value on every seed; the outcome per value and where training is stable."""
    if axis not in AXES:
        raise ValueError(f"unknown sweep axis {axis!r}; choose one of {', '.join(AXES)}")
    with restoring_compile(setup):
        return _sweep_axis(setup, axis, grid, settings, deadline, emit, findings)


def _sweep_axis(setup: TrainSetup, axis: str, grid: Sequence[Any] | None, settings: Settings,
                deadline: Deadline, emit: Emit | None, findings: Sequence[Finding]) -> dict[str, Any]:
    emit = emit or (lambda event: None)
    values = list(grid) if grid else default_grid(axis, setup, findings)
    seeds = list(range(settings.seeds))
    rows = []
    for index, value in enumerate(values):
        if deadline.passed():
            break
        fix = axis_fix(axis, value, setup, findings) or AS_IS
        emit({"event": "candidate", "index": index, "total": len(values), "id": fix.id, "title": fix.title})
        candidate = Candidate(fix=fix, base=setup)
        run_seeds(candidate, seeds, settings, deadline, keep=False)
        row = _row(value, candidate, setup.task)
        emit({"event": "candidate_done", "id": fix.id, "outcome": row["outcome"]})
        rows.append(row)
    return {"axis": axis, "values": rows, "stable_range": stable_range(axis, rows),
            "best": best_value(rows, setup.task)}


def _row(value: Any, candidate: Candidate, task) -> dict[str, Any]:
    runs = candidate.runs
    ok = sum(run.ok for run in runs)
    if runs and ok == len(runs):
        outcome = Verdict.HEALTHY
    elif any(run.outcome is Outcome.DIVERGED for run in runs):
        outcome = Verdict.DIVERGES
    elif any(run.outcome is Outcome.STALLED for run in runs):
        outcome = Verdict.STALLS
    else:
        outcome = Verdict.ERROR if candidate.error else Outcome.TIMED_OUT
    return {"value": value, "outcome": outcome.value, "seeds_ok": ok, "seeds": len(runs),
            "final_loss": median([run.final_loss for run in runs]),
            "val_accuracy": median([run.val_accuracy for run in runs]) if task.is_classification else None,
            "note": candidate.error or (runs[0].reason if runs and not runs[0].ok else "")}


AXIS_NAMES = {"lr": "learning_rate", "epsilon": "epsilon", "clip": "clipnorm"}


def stable_range(axis: str, rows: list[dict[str, Any]]) -> str:
    """Where training neither diverged nor stalled, in plain words."""
    if not rows:
        return "nothing was measured before the time ran out"
    healthy = [row["value"] for row in rows if row["outcome"] == Verdict.HEALTHY]
    if axis not in AXIS_NAMES:
        if not healthy:
            return "no choice trained healthily on every seed"
        return "healthy with: " + ", ".join(map(str, healthy))
    name = AXIS_NAMES[axis]
    finite = sorted(row["value"] for row in rows if row["outcome"] != Verdict.DIVERGES)
    diverging = sorted(row["value"] for row in rows if row["outcome"] == Verdict.DIVERGES)
    parts = []
    if axis == "lr" and diverging and finite:
        limit = [v for v in finite if v < min(diverging)]
        if limit:
            parts.append(f"stable for {name} ≤ {max(limit):g}")
    if healthy:
        low, high = min(healthy), max(healthy)
        parts.append(f"learns for {name} = {low:g}" if low == high
                     else f"learns for {low:g} ≤ {name} ≤ {high:g}")
    else:
        parts.append("no value trained healthily on every seed")
    if axis == "lr" and not diverging:
        parts.insert(0, f"no divergence up to {name} = {max(row['value'] for row in rows):g}")
    return "; ".join(parts)


def best_value(rows: list[dict[str, Any]], task) -> Any:
    if not rows:
        return None

    def key(row):
        quality = row["val_accuracy"] if task.is_classification else -(row["final_loss"] or math.inf)
        return (row["seeds_ok"], quality if quality is not None else -math.inf)

    return max(rows, key=key)["value"]
