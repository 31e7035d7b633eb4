"""The epsilon family: a larger epsilon for Adam-style optimizers.

Adam, Adamax, Nadam, RMSprop, Adagrad and friends divide each step by sqrt(v) + epsilon.
When v collapses late in training the step m / (sqrt(v) + eps) explodes; the default
epsilon (1e-7) is too small to damp it. Larger values (1e-4 ... 0.1) bound the step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from nanfix.fixes.base import Fix, family, number, optimizer_fix, tidy
from nanfix.results import Finding
from nanfix.trainsetup import TrainSetup

ANSWERS = ("N706", "N701", "N703", "N702")
GRID = (1e-3, 1e-2, 1e-4, 0.1)


@family("epsilon", "Raise the optimizer's epsilon", answers=ANSWERS)
def epsilon(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    current = number(setup.optimizer_settings.get("epsilon"))
    if current is None:
        return []
    fixes = []
    for value in (grid or GRID):
        value = tidy(float(value))
        if value <= current * 1.01:
            continue
        fixes.append(optimizer_fix(
            setup, id=f"epsilon-{value:g}", family="epsilon", answers=ANSWERS,
            title=f"Raise {setup.optimizer_name}'s epsilon to {value:g} (from {tidy(current):g})",
            settings={"epsilon": value},
            magnitude=0.5 + 0.25 * math.log10(value / max(current, 1e-12))))
    return fixes
