"""Successive halving: every candidate on the seed the baseline failed first; the better
half of the healthy ones (at least ADVANCE_AT_LEAST, topped up with promising ones) on the
other seeds, best first, until a cure confirmed on every seed leads all the ones still
waiting (by what was measured of them, none could rank above it); and, when nothing cured,
the halted healthy ones verified best first until one cures.

Every step of it reads the runner's results in plan order (`runner.py`), so a runner that
trains several candidates at once gives the report of one that trains them in turn.
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
    progress,
    promising,
)
from nanfix.sweep.runner import Probe, Runner

Emit = Callable[[dict[str, Any]], None]

ADVANCE_AT_LEAST = 3  # successive halving keeps at least this many for the remaining seeds
MAX_LATE_VERIFICATIONS = 3  # halted healthy candidates verified when nothing cured


def probe_candidates(fixes: list[Fix], setup: TrainSetup, seeds: list[int], settings: Settings,
                     deadline: Deadline, emit: Emit, budget: Budget, start_index: int = 0,
                     total: int | None = None, causes: set[str] = frozenset(),
                     runner: Runner | None = None) -> list[Candidate]:
    """Successive halving: every candidate on the first seed while the first round has budget;
    the better half of the healthy ones (at least ADVANCE_AT_LEAST, topped up with promising
    ones; those answering the diagnosed cause first) on the other seeds.

    The runner trains `runner.width` candidates at a time; their results are read in plan
    order and the budget decides on each as if they had run one by one, so a candidate the
    budget would not have reached is dropped unread: the same report from any runner."""
    runner = runner or Runner()
    total = total or len(fixes)
    keep = nbytes(setup) * max(1, len(fixes)) <= KEEP_TRAINERS_BYTES
    first, rest = seeds[:1], seeds[1:]
    candidates: list[Candidate] = []
    index = 0
    while index < len(fixes):
        if deadline.passed() or not budget.first_round_open(index):
            _cut(fixes, index, budget, deadline, emit)
            break
        batch = [Candidate(fix=fix, base=setup) for fix in fixes[index:index + max(1, runner.width)]]
        for offset, candidate in enumerate(batch):
            emit({"event": "candidate", "index": start_index + index + offset, "total": total,
                  "id": candidate.fix.id, "title": candidate.fix.title})
        runner.run([Probe(candidate, first, keep and bool(rest)) for candidate in batch], settings,
                   deadline)
        read = 0
        for offset, candidate in enumerate(batch):
            if not candidate.runs or (offset and not budget.first_round_open(index + offset)):
                break  # not run before the deadline, or run ahead past what the budget allows
            candidates.append(candidate)
            budget.tried.append(candidate.fix.id)
            budget.spend(candidate.runs, new_candidate=True)
            if not rest or not (candidate.healthy or promising(candidate, setup.task, settings.thresholds)):
                _done(candidate, emit)
            read += 1
        index += read
        if read < len(batch):
            _cut(fixes, index, budget, deadline, emit)
            break
    if not rest:
        return candidates
    survivors = advancing(candidates, setup.task, settings.thresholds,
                          limit=budget.verifications(len(rest)), causes=causes)
    for candidate in candidates:
        if candidate not in survivors and candidate.trainer is not None:
            candidate.halted = True
            _done(candidate, emit)
    key = order_key(candidates, setup.task, settings.thresholds, causes)

    def leads(cure: Candidate, later: list[Candidate]) -> bool:
        # confirmed on every seed, and still first by the ranking's measures against what was
        # measured of the ones not yet verified: none of them can overtake it
        return bool(cured([cure], len(seeds))) and all(key(cure) <= key(other) for other in later)

    unverified = _verify(survivors, seeds, settings, deadline, emit, budget, runner, leads)
    for candidate in unverified:
        candidate.halted = True
        candidate.outranked = not deadline.passed()
        budget.cut_by_deadline = budget.cut_by_deadline or deadline.passed()
        _done(candidate, emit)
    return candidates


def _verify(waiting: list[Candidate], seeds: list[int], settings: Settings, deadline: Deadline,
            emit: Emit, budget: Budget, runner: Runner, settles,
            announce: list[Candidate] | None = None) -> list[Candidate]:
    """Verify `waiting` on the seeds each still lacks, in order, `runner.width` at a time,
    until `settles(candidate, the ones after it)` says the question is answered; returns the
    ones left unverified (a batch's results after the settling one are dropped unread).
    With `announce` (every candidate of the sweep), each is shown as a fix given more seeds."""
    waiting = list(waiting)
    while waiting and not deadline.passed():
        batch, waiting = waiting[:max(1, runner.width)], waiting[max(1, runner.width):]
        before = {id(candidate): list(candidate.runs) for candidate in batch}
        for candidate in batch if announce else []:
            emit({"event": "candidate", "index": announce.index(candidate), "total": len(announce),
                  "id": candidate.fix.id, "title": f"{candidate.fix.title} (more seeds)"})
        runner.run([Probe(candidate, [seed for seed in seeds if seed not in
                                      {run.seed for run in candidate.runs}]) for candidate in batch],
                   settings, deadline)
        for position, candidate in enumerate(batch):
            budget.spend(candidate.runs[len(before[id(candidate)]):])
            candidate.halted = len(candidate.runs) < len(seeds)
            budget.cut_by_deadline |= candidate.halted and deadline.passed()
            _done(candidate, emit)
            later = batch[position + 1:] + waiting
            if settles(candidate, later):
                for unread in batch[position + 1:]:
                    unread.runs = before[id(unread)]
                return later
    return waiting


def _cut(fixes: list[Fix], index: int, budget: Budget, deadline: Deadline, emit: Emit) -> None:
    """The first round ends at `index`: the rest of the plan is not tried."""
    budget.not_tried += [later.id for later in fixes[index:]]
    budget.cut_by_deadline = budget.cut_by_deadline or deadline.passed()
    emit({"event": "phase", "phase": f"budget: {index} of {len(fixes)} planned fixes tried "
          f"({budget.spent} of {budget.total} probed steps)"})


def advancing(candidates: list[Candidate], task, thresholds: Thresholds,
              limit: int | None = None, causes: set[str] = frozenset()) -> list[Candidate]:
    """Who goes on to the remaining seeds, best first by the ranking's own measures (at most
    `limit`: what the budget still allows). As in the ranking, a candidate that answers the
    diagnosed cause (`causes`: fix families) and trained about as well as the best goes first."""
    healthy = [c for c in candidates if c.healthy]
    key = order_key(candidates, task, thresholds, causes)
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
        hopeful = sorted((c for c in candidates if promising(c, task, thresholds)), key=progress, reverse=True)
        chosen += hopeful[:min(quota, ADVANCE_AT_LEAST) - len(chosen)]
    return chosen


def order_key(candidates: list[Candidate], task, thresholds: Thresholds, causes: set[str]):
    """The ranking's own order on what was measured so far: a candidate that answers the
    diagnosed cause (`causes`: fix families) and trained about as well as the best healthy
    one goes first, then by quality, the smallest change, the smallest move."""
    classifier = bool(task is not None and task.is_classification)
    healthy = [c for c in candidates if c.healthy]
    best = min(healthy, key=lambda c: rank.quality_of_runs(c.runs, classifier), default=None)

    def key(candidate: Candidate) -> tuple:
        answers = bool(set(candidate.fix.families) & set(causes))
        close = best is not None and rank.near_best_runs(candidate.runs, best.runs, classifier,
                                                         thresholds)
        return (not (answers and close), rank.quality_of_runs(candidate.runs, classifier),
                candidate.fix.size, candidate.fix.magnitude)

    return key


def verify_halted(candidates: list[Candidate], setup: TrainSetup, seeds: list[int], settings: Settings,
                  deadline: Deadline, emit: Emit, budget: Budget,
                  causes: set[str] = frozenset(), runner: Runner | None = None) -> None:
    """When nothing cured, the candidates that were healthy on the first seed but halted by
    the budget get their other seeds, best first, until one cures (at most
    MAX_LATE_VERIFICATIONS): a measured single change beats a guessed combination. A runner
    that verifies several at once has the ones after the first cure's dropped unread."""
    runner = runner or Runner()
    waiting = advancing([c for c in candidates if c.halted and c.healthy], setup.task,
                        settings.thresholds, causes=causes)[:MAX_LATE_VERIFICATIONS]
    if waiting and not cured(candidates, len(seeds)):
        _verify(waiting, seeds, settings, deadline, emit, budget, runner,
                lambda candidate, later: bool(cured([candidate], len(seeds))), announce=candidates)


def _done(candidate: Candidate, emit: Emit) -> None:
    candidate.trainer = None
    emit({"event": "candidate_done", "id": candidate.fix.id, "outcome": _quick_outcome(candidate)})


def _quick_outcome(candidate: Candidate) -> str:
    if candidate.healthy:
        return Outcome.HEALTHY.value
    if any(run.outcome is Outcome.DIVERGED for run in candidate.runs):
        return Outcome.DIVERGED.value
    return Outcome.STALLED.value
