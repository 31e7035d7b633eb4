"""Order measured fixes: what cured most, then what trained best, then the smallest change.

The key, in order:

1. the outcome (`cures` before `improves` before `fails`) and the share of seeds that
   ended healthy;
2. what the budget reached: validation accuracy for classifiers (within a percentage point
   counts as equal: that is the noise of a 1024-sample evaluation), the loss otherwise
   (relative to its start, so a fix that rescales the targets is compared fairly; within
   about 10% counts as equal);
3. the smallest change: fewer edits, then a smaller magnitude (lr x0.1 before x0.001);
4. the time the probe took.

Example::

    ranked = rank(results, task, magnitude={"lr-0.3": 1.0, "lr-0.003": 3.0})
    ranked[0].rank == 1
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from nanfix.results import FixResult, SeedRun, median

OUTCOME_ORDER = {"cures": 0, "improves": 1, "fails": 2}


def cure_rate(fix: FixResult) -> float:
    return fix.seeds_ok / fix.seeds if fix.seeds else 0.0


def quality(fix: FixResult, classifier: bool) -> float:
    """Smaller is better: minus the accuracy bucket, or the relative loss bucket."""
    return math.inf if fix.probe is None else quality_of_runs(fix.probe.runs, classifier)


def quality_of_runs(runs: list[SeedRun], classifier: bool) -> float:
    if classifier:
        accuracy = median([run.val_accuracy for run in runs])
        return math.inf if accuracy is None else -round(accuracy * 100)
    final, start = median([run.final_loss for run in runs]), median([run.start_loss for run in runs])
    if final is None:
        return math.inf
    relative = final / start if start and start > 0 else final
    return math.floor(math.log(max(relative, 1e-12)) / math.log(1.1))




def sort_key(fix: FixResult, classifier: bool, magnitude: Mapping[str, float]):
    elapsed = fix.probe.elapsed_s if fix.probe else math.inf
    return (OUTCOME_ORDER.get(fix.outcome, 3), -cure_rate(fix), quality(fix, classifier),
            fix.size, magnitude.get(fix.id, float(fix.size)), elapsed)


def rank(results: list[FixResult], task=None,
         magnitude: Mapping[str, float] | None = None) -> list[FixResult]:
    """The results best first, with `rank` set to 1..n."""
    classifier = bool(task is not None and task.is_classification)
    ordered = sorted(results, key=lambda fix: sort_key(fix, classifier, magnitude or {}))
    for position, fix in enumerate(ordered, start=1):
        fix.rank = position
    return ordered
