"""The optimizer family: swap a plain optimizer for Adam at its default rate, as a fallback.

Adam's per-parameter step sizes forgive badly scaled inputs and a badly chosen rate; it is
the change people try first on Q&A pages. It is a bigger change than a new rate, so the
ranking prefers a smaller fix that cures as well.
"""

from __future__ import annotations

from collections.abc import Sequence

from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.source.edits import OptimizerEdit
from nanfix.probes.setup import TrainSetup
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("M403", "N701", "N703", "S801", "S803", "S805")
ADAM_RATE = 0.001


@family("optimizer", "Use another optimizer", answers=ANSWERS, priority=110)
def optimizer(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    if setup.optimizer_name == "Adam":
        return []
    return [Fix(base=setup, id="optimizer-adam", family="optimizer",
                title=f"Use Adam (learning_rate={ADAM_RATE:g}) instead of {setup.optimizer_name}",
                edits=(OptimizerEdit({"learning_rate": ADAM_RATE}, class_name="Adam"),),
                magnitude=2.0)]
