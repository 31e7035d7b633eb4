"""A candidate assessed against the baseline on the same seeds: `cures`, `improves` or
`fails`, with a note that says why in plain words (a seed's own outcome is
`nanfix.probes.judge`'s). "The NaN is gone" is not a cure: a cure
is healthy and learning on every seed, and a data problem is cured only by a data fix.
"""

from __future__ import annotations

from dataclasses import dataclass

from nanfix.config import Thresholds
from nanfix.fixes.task_change import fix_changes_task
from nanfix.probes.judge import accuracy_learned
from nanfix.records import FixOutcome, Outcome, ProbeResult, SeedRun, median
from nanfix.sweep.candidate import Candidate


@dataclass
class Assessment:
    outcome: FixOutcome
    note: str


def _failure_step(run: SeedRun) -> int | None:
    if run.outcome is not Outcome.DIVERGED:
        return None
    if run.first_nonfinite is not None:
        return run.first_nonfinite.step
    exploded = run.signals.exploded_at
    return exploded if exploded is not None else run.steps_run


def _fmt(value: float | None) -> str:
    return "?" if value is None else f"{value:.3g}"


def learning_summary(runs: list[SeedRun], task, thresholds: Thresholds) -> str:
    """'loss 2.30 → 0.31, accuracy 0.95' (or 'accuracy at chance')."""
    start = median([run.start_loss for run in runs])
    final = median([run.final_loss for run in runs])
    text = f"loss {_fmt(start)} → {_fmt(final)}"
    accuracy = median([run.val_accuracy for run in runs])
    if task is not None and task.is_classification and accuracy is not None:
        if not accuracy_learned(accuracy, task, thresholds):
            text += f", accuracy at chance ({accuracy:.2f})"
        else:
            text += f", accuracy {accuracy:.2f}"
    return text


def assess(candidate: Candidate, baseline: ProbeResult | None, task, problem: str | None,
          seeds_total: int, thresholds: Thresholds) -> Assessment:
    """cures / improves / fails, with a note that says why in plain words."""
    runs = sorted(candidate.runs, key=lambda run: run.seed)
    fix = candidate.fix
    ok = sum(run.ok for run in runs)
    probed = len(runs)
    base = {run.seed: run for run in (baseline.runs if baseline else [])}
    base_runs = [base[run.seed] for run in runs if run.seed in base]
    base_bad = sum(not run.ok for run in base_runs)
    bad = probed - ok
    partial = f" (stopped after {probed} of {seeds_total} seeds)" if probed < seeds_total else ""
    if candidate.halted and ok == probed:
        why = ("a cure confirmed on every seed ranks above it" if candidate.outranked
               else "the budget went to better candidates")
        partial = f" (not verified on the other {seeds_total - probed} seeds: {why})"
    if candidate.error and ok == 0:
        return Assessment(FixOutcome.FAILS, f"training failed: {candidate.error}")
    if ok == probed and probed >= seeds_total:
        outcome = FixOutcome.CURES
        note = f"healthy in {ok}/{probed} seeds: {learning_summary(runs, task, thresholds)}"
    elif bad < base_bad:
        outcome = FixOutcome.IMPROVES
        note = (f"healthy in {ok}/{probed} seeds (baseline {len(base_runs) - base_bad}/{len(base_runs)})"
                f"{partial}: {learning_summary(runs, task, thresholds)}")
    else:
        outcome, note = _failed(runs, base_runs, task, partial, thresholds)
    if problem and not fix.data_fix:
        if outcome is FixOutcome.CURES:
            outcome = FixOutcome.IMPROVES
        note += (f"; this does not repair the data ({problem}): only a data fix can cure that")
    elif fix.data_fix and fix.note:
        note = f"{note}. {fix.note}"
    changed = candidate.base is not None and fix_changes_task(fix, candidate.base, thresholds)
    if changed:  # a combination can reach what the plan keeps out: it is never a cure
        outcome = FixOutcome.FAILS
        note = f"it changes the task, not the training: {changed}; {note}"
    return Assessment(outcome, note)


def _failed(runs: list[SeedRun], base_runs: list[SeedRun], task, partial: str,
            thresholds: Thresholds) -> tuple[FixOutcome, str]:
    steps = [s for s in (_failure_step(run) for run in runs) if s is not None]
    base_steps = [s for s in (_failure_step(run) for run in base_runs) if s is not None]
    diverged = [run for run in runs if run.outcome is Outcome.DIVERGED]
    if diverged and base_steps and steps and min(steps) >= max(2 * min(base_steps), min(base_steps) + 10):
        return FixOutcome.IMPROVES, (f"diverges later: first failure at step {min(steps)} "
                                     f"instead of {min(base_steps)}{partial}")
    if diverged:
        return FixOutcome.FAILS, f"{diverged[0].reason} (seed {diverged[0].seed}){partial}"
    crashed = [run for run in runs if run.outcome in (Outcome.CRASHED, Outcome.TIMED_OUT)]
    if crashed and len(crashed) == len(runs):
        return FixOutcome.FAILS, f"{crashed[0].reason}{partial}"
    if base_steps:  # the baseline went non-finite here; this candidate only stays finite
        ok = sum(run.ok for run in runs)
        what = f"it learns on only {ok}/{len(runs)} seeds" if ok else "nothing learned"
        return FixOutcome.FAILS, f"no NaN, but {what}: {learning_summary(runs, task, thresholds)}{partial}"
    stalled = [run for run in runs if run.outcome is Outcome.STALLED]
    reason = stalled[0].reason if stalled else "not better than the baseline"
    return FixOutcome.FAILS, f"{reason}: {learning_summary(runs, task, thresholds)}{partial}"
