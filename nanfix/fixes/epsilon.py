"""The epsilon family: a larger epsilon for Adam-style optimizers.

Adam, Adamax, Nadam, RMSprop, Adagrad and friends divide each step by sqrt(v) + epsilon.
When v collapses late in training the step m / (sqrt(v) + eps) explodes; the default
epsilon (1e-7) is too small to damp it. Larger values (1e-4 ... 0.1) bound the step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.helpers import number, optimizer_fix, tidy
from nanfix.probes.setup import TrainSetup
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("N701", "N702", "N703", "N706", "N707", "N708")
# ...and those whose cause it removes: Adam's step no longer grows as v decays toward epsilon.
REMOVES = ("N706", "N708")
GRID = (1e-3, 1e-2, 1e-4, 0.1)


@family("epsilon", "Raise the optimizer's epsilon", answers=ANSWERS, priority=100, removes=REMOVES)
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
            setup, id=f"epsilon-{value:g}", family="epsilon",
            title=f"Raise {setup.optimizer_name}'s epsilon to {value:g} (from {tidy(current):g})",
            settings={"epsilon": value},
            magnitude=0.5 + 0.25 * math.log10(value / max(current, 1e-12))))
    return fixes
