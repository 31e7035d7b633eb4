"""Order measured fixes: what cured most, then what trained best, then the smallest change.

The key, in order:

1. the outcome (`cures` before `improves` before `fails`) and the share of seeds that
   ended healthy;
2. among the fixes that trained about as well as the best of their group (accuracy within
   `Thresholds.near_best_accuracy`, loss within `near_best_loss_ratio`), the ones that remove the
   diagnosed cause first: lowering the learning rate can make a hand-written log(0) or a
   linear stack survive the budget while the hazard stays in the script, and "the NaN is
   gone" is not "fixed";
3. what the budget reached: validation accuracy for classifiers (within a percentage point
   counts as equal: that is the noise of a 1024-sample evaluation), the loss otherwise
   (relative to its start, so a fix that rescales the targets is compared fairly; within
   about 10% counts as equal);
4. the smallest change: fewer edits, then a smaller magnitude (lr x0.1 before x0.001);
5. the time the probe took.

>>> from nanfix.records import FixResult
>>> def result(fix_id, outcome, ok):
...     return FixResult(id=fix_id, family="lr", title=fix_id, changes=[], outcome=outcome,
...                      seeds_ok=ok, seeds=3)
>>> ranked = rank([result("lr-0.003", "cures", 3), result("lr-0.3", "fails", 0),
...                result("lr-0.03", "cures", 3)], magnitude={"lr-0.03": 2.0, "lr-0.003": 3.0})
>>> [(fix.rank, fix.id) for fix in ranked]  # both cure: the smaller change first
[(1, 'lr-0.03'), (2, 'lr-0.003'), (3, 'lr-0.3')]
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from nanfix.config import Thresholds
from nanfix.records import FixOutcome, FixResult, SeedRun, median

OUTCOME_ORDER = {FixOutcome.CURES: 0, FixOutcome.IMPROVES: 1, FixOutcome.FAILS: 2}


def cure_rate(fix: FixResult) -> float:
    return fix.seeds_ok / fix.seeds if fix.seeds else 0.0


def quality(fix: FixResult, classifier: bool) -> float:
    """Smaller is better: minus the accuracy bucket, or the relative loss bucket."""
    return math.inf if fix.probe is None else quality_of_runs(fix.probe.runs, classifier)


def quality_of_runs(runs: list[SeedRun], classifier: bool) -> float:
    if classifier:
        accuracy = median([run.val_accuracy for run in runs])
        return math.inf if accuracy is None else -round(accuracy * 100)
    relative = _relative_loss(runs)
    if relative is None:
        return math.inf
    return math.floor(math.log(max(relative, 1e-12)) / math.log(1.1))


def near_best(fix: FixResult, best: FixResult | None, classifier: bool,
              thresholds: Thresholds) -> bool:
    """Whether `fix` trained about as well as `best` (the top of its outcome group)."""
    if best is None or fix.probe is None or best.probe is None:
        return fix is best
    return near_best_runs(fix.probe.runs, best.probe.runs, classifier, thresholds)


def near_best_runs(runs: list[SeedRun], best: list[SeedRun], classifier: bool,
                   thresholds: Thresholds) -> bool:
    """Whether `runs` trained about as well as `best`: accuracy within `near_best_accuracy`,
    or a relative loss within `near_best_loss_ratio` of it."""
    if classifier:
        mine = median([run.val_accuracy for run in runs])
        top = median([run.val_accuracy for run in best])
        return mine is not None and top is not None and mine >= top - thresholds.near_best_accuracy
    mine, top = _relative_loss(runs), _relative_loss(best)
    return mine is not None and top is not None and mine <= max(top, 1e-12) * thresholds.near_best_loss_ratio


def _relative_loss(runs: list[SeedRun]) -> float | None:
    """The final loss against what it is compared with: the loss of predicting the targets'
    mean where it is known (a regression: then a fix that standardises the targets is
    compared fairly with one that leaves their offset in the loss), else the start loss."""
    final = median([run.final_loss for run in runs])
    if final is None:
        return None
    guess = median([run.signals.constant_guess_loss for run in runs])
    if guess and guess > 0:
        return final / guess
    start = median([run.start_loss for run in runs])
    return final / start if start and start > 0 else final


def answers_cause(fix: FixResult, cause_families: set[str]) -> bool:
    """A fix answers the cause when its family (or one of a combination's parts') does."""
    return bool(set(fix.families) & cause_families)


def sort_key(fix: FixResult, classifier: bool, magnitude: Mapping[str, float]):
    """Outcome, cure rate, quality, size, how far it moves a setting; exact ties by the id, so
    two identical runs rank alike (never by the time a probe took)."""
    return (OUTCOME_ORDER.get(fix.outcome, 3), -cure_rate(fix), quality(fix, classifier),
            fix.size, magnitude.get(fix.id, float(fix.size)), fix.id)


def rank(results: list[FixResult], task=None, magnitude: Mapping[str, float] | None = None,
         cause_families: set[str] | None = None,
         thresholds: Thresholds | None = None) -> list[FixResult]:
    """The results best first, with `rank` set to 1..n."""
    thresholds = thresholds or Thresholds()
    classifier = bool(task is not None and task.is_classification)
    magnitude = magnitude or {}
    ordered = sorted(results, key=lambda fix: sort_key(fix, classifier, magnitude))
    if cause_families:
        best: dict[tuple, FixResult] = {}
        for fix in ordered:  # the first of each (outcome, cure rate) group is its best
            best.setdefault((fix.outcome, cure_rate(fix)), fix)

        def key(fix: FixResult):
            top = best[(fix.outcome, cure_rate(fix))]
            close = near_best(fix, top, classifier, thresholds)
            return (OUTCOME_ORDER.get(fix.outcome, 3), -cure_rate(fix), not close,
                    not (close and answers_cause(fix, cause_families)),
                    sort_key(fix, classifier, magnitude))

        ordered = sorted(ordered, key=key)
    for position, fix in enumerate(ordered, start=1):
        fix.rank = position
    return ordered
