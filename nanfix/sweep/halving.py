"""Successive halving: every candidate on the seed the baseline failed first; the better
half of the healthy ones (at least ADVANCE_AT_LEAST, topped up with promising ones) on the
other seeds; and, when nothing cured, the halted healthy ones verified best first.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from nanfix.config import Settings, Thresholds
from nanfix.fixes.catalog import Fix
from nanfix.probes.run import Deadline
from nanfix.probes.setup import TrainSetup
from nanfix.records import Outcome
from nanfix.sweep import rank
from nanfix.sweep.budget import Budget
from nanfix.sweep.candidate import (
    KEEP_TRAINERS_BYTES,
    Candidate,
    cured,
    nbytes,
    promising,
    run_seeds,
    score,
)

Emit = Callable[[dict[str, Any]], None]

ADVANCE_AT_LEAST = 3  # successive halving keeps at least this many for the remaining seeds
MAX_LATE_VERIFICATIONS = 3  # halted healthy candidates verified when nothing cured


def probe_candidates(fixes: list[Fix], setup: TrainSetup, seeds: list[int], settings: Settings,
                     deadline: Deadline, emit: Emit, budget: Budget, start_index: int = 0,
                     total: int | None = None, causes: set[str] = frozenset()) -> list[Candidate]:
    """Successive halving: every candidate on the first seed while the first round has budget;
    the better half of the healthy ones (at least ADVANCE_AT_LEAST, topped up with promising
    ones; those answering the diagnosed cause first) on the other seeds."""
    total = total or len(fixes)
    keep = nbytes(setup) * max(1, len(fixes)) <= KEEP_TRAINERS_BYTES
    first, rest = seeds[:1], seeds[1:]
    candidates = []
    for index, fix in enumerate(fixes):
        if deadline.passed() or not budget.first_round_open(index):
            budget.not_tried += [later.id for later in fixes[index:]]
            budget.cut_by_deadline = budget.cut_by_deadline or deadline.passed()
            emit({"event": "phase", "phase": f"budget: {index} of {len(fixes)} planned fixes tried "
                  f"({budget.spent} of {budget.total} probed steps)"})
            break
        emit({"event": "candidate", "index": start_index + index, "total": total, "id": fix.id,
              "title": fix.title})
        candidate = Candidate(fix=fix, base=setup)
        run_seeds(candidate, first, settings, deadline, keep=keep and bool(rest))
        candidates.append(candidate)
        budget.tried.append(fix.id)
        budget.spend(candidate.runs, new_candidate=True)
        if not rest or not (candidate.healthy or promising(candidate, setup.task, settings.thresholds)):
            _done(candidate, emit)
    if not rest:
        return candidates
    survivors = advancing(candidates, setup.task, settings.thresholds,
                          limit=budget.verifications(len(rest)), causes=causes)
    for candidate in candidates:
        if candidate not in survivors and candidate.trainer is not None:
            candidate.halted = True
            _done(candidate, emit)
    for candidate in survivors:
        if deadline.passed():
            candidate.halted = True
            budget.cut_by_deadline = True
        else:
            before = len(candidate.runs)
            run_seeds(candidate, rest, settings, deadline, keep=False)
            budget.spend(candidate.runs[before:])
        _done(candidate, emit)
    return candidates


def advancing(candidates: list[Candidate], task, thresholds: Thresholds,
              limit: int | None = None, causes: set[str] = frozenset()) -> list[Candidate]:
    """Who goes on to the remaining seeds, best first by the ranking's own measures (at most
    `limit`: what the budget still allows). As in the ranking, a candidate that answers the
    diagnosed cause (`causes`: fix families) and trained about as well as the best goes first."""
    classifier = bool(task is not None and task.is_classification)
    healthy = [c for c in candidates if c.healthy]
    best = min(healthy, key=lambda c: rank.quality_of_runs(c.runs, classifier), default=None)

    def key(candidate: Candidate):
        answers = bool(set(candidate.fix.families) & set(causes))
        close = best is not None and rank.near_best_runs(candidate.runs, best.runs, classifier,
                                                         thresholds)
        return (not (answers and close), rank.quality_of_runs(candidate.runs, classifier),
                candidate.fix.size, candidate.fix.magnitude)

    healthy.sort(key=key)
    quota = max(ADVANCE_AT_LEAST, math.ceil(len(healthy) / 2))
    if limit is not None:
        quota = min(quota, limit)
    # the best of each family first, so the report verifies different kinds of change
    best_per_family = [c for i, c in enumerate(healthy)
                       if all(other.fix.family != c.fix.family for other in healthy[:i])]
    chosen = best_per_family[:quota]
    chosen += [c for c in healthy if c not in chosen][:quota - len(chosen)]
    chosen.sort(key=key)
    if len(chosen) < min(quota, ADVANCE_AT_LEAST):
        hopeful = sorted((c for c in candidates if promising(c, task, thresholds)), key=score, reverse=True)
        chosen += hopeful[:min(quota, ADVANCE_AT_LEAST) - len(chosen)]
    return chosen


def verify_halted(candidates: list[Candidate], setup: TrainSetup, seeds: list[int], settings: Settings,
                  deadline: Deadline, emit: Emit, budget: Budget,
                  causes: set[str] = frozenset()) -> None:
    """When nothing cured, the candidates that were healthy on the first seed but halted by
    the budget get their other seeds, best first, until one cures (at most
    MAX_LATE_VERIFICATIONS): a measured single change beats a guessed combination."""
    waiting = advancing([c for c in candidates if c.halted and c.healthy], setup.task,
                        settings.thresholds, causes=causes)
    for candidate in waiting[:MAX_LATE_VERIFICATIONS]:
        if cured(candidates, len(seeds)) or deadline.passed():
            return
        emit({"event": "candidate", "index": candidates.index(candidate), "total": len(candidates),
              "id": candidate.fix.id, "title": f"{candidate.fix.title} (more seeds)"})
        done = {run.seed for run in candidate.runs}
        before = len(candidate.runs)
        run_seeds(candidate, [seed for seed in seeds if seed not in done], settings, deadline, keep=False)
        budget.spend(candidate.runs[before:])
        candidate.halted = len(candidate.runs) < len(seeds)
        _done(candidate, emit)


def _done(candidate: Candidate, emit: Emit) -> None:
    candidate.trainer = None
    emit({"event": "candidate_done", "id": candidate.fix.id, "outcome": _quick_outcome(candidate)})


def _quick_outcome(candidate: Candidate) -> str:
    if candidate.healthy:
        return Outcome.HEALTHY.value
    if any(run.outcome is Outcome.DIVERGED for run in candidate.runs):
        return Outcome.DIVERGED.value
    return Outcome.STALLED.value
