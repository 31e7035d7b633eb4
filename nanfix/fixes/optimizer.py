"""The optimizer family: swap a plain optimizer for Adam at its default rate, as a fallback.

Adam's per-parameter step sizes forgive badly scaled inputs and a badly chosen rate; it is
the change people try first on Q&A pages. It is a bigger change than a new rate, so the
ranking prefers a smaller fix that cures as well.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from nanfix.fixes.base import Fix, family, optimizer_change
from nanfix.patch import OptimizerEdit
from nanfix.results import Finding
from nanfix.trainsetup import TrainSetup

ANSWERS = ("S803", "N701", "N703", "S801")
ADAM_RATE = 0.001


def _swap(setup: TrainSetup) -> TrainSetup:
    return setup.with_changes(optimizer_config=keras.optimizers.serialize(
        keras.optimizers.Adam(learning_rate=ADAM_RATE)))


@family("optimizer", "Use another optimizer", answers=ANSWERS)
def optimizer(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    if setup.optimizer_name == "Adam":
        return []
    return [Fix(id="optimizer-adam", family="optimizer", answers=ANSWERS,
                title=f"Use Adam (learning_rate={ADAM_RATE:g}) instead of {setup.optimizer_name}",
                transform=_swap,
                changes=(optimizer_change(setup, {"learning_rate": ADAM_RATE}, class_name="Adam"),),
                edits=(OptimizerEdit({"learning_rate": ADAM_RATE}, class_name="Adam"),),
                magnitude=2.0)]
