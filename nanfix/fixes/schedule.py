"""The schedule family: warm the learning rate up where a rate that trains later diverges at
the start.

The first steps are the most violent: fresh weights, large gradients, and Adam's second moment
not yet estimated. A rate that is right for the rest of training can blow up in those steps;
a warm-up (a hundredth of the rate, then a tenth, then the rate) lets the network settle first
and keeps the rate the script chose for the rest. Written as a
`keras.optimizers.schedules.PiecewiseConstantDecay`, which every Keras optimizer takes as
its learning_rate.
"""

from __future__ import annotations

from collections.abc import Sequence

from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.helpers import diverges, tidy
from nanfix.fixes.lr import current_rate
from nanfix.fixes.source.edits import OptimizerEdit
from nanfix.fixes.source.text import Code
from nanfix.probes.setup import TrainSetup
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("N701", "N703", "N705", "N706")
WARMUP_STEPS = 50  # each of the two warm-up stages; the probe sees the full rate after 100


def warmup(rate: float, steps: int = WARMUP_STEPS) -> tuple[list[int], list[float]]:
    return [steps, 2 * steps], [tidy(rate / 100), tidy(rate / 10), tidy(rate)]


@family("schedule", "Warm the learning rate up", answers=ANSWERS, priority=85)
def schedule(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    rate = current_rate(setup)
    if not rate or rate <= 0 or not diverges(findings):
        return []
    boundaries, values = warmup(rate, int(grid[0]) if grid else WARMUP_STEPS)
    code = Code("{keras}.optimizers.schedules.PiecewiseConstantDecay(" + f"{boundaries}, {values})")
    return [Fix(base=setup, id="lr-warmup", family="schedule",
                title=f"Warm the learning rate up: {values[0]:g}, then {values[1]:g}, then {values[2]:g} "
                      f"from step {boundaries[1]}",
                edits=(OptimizerEdit({"learning_rate": code}),), magnitude=1.5)]
