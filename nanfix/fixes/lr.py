"""The learning-rate family: the script's rate scaled down a grid of factors (up for stalls).

A rate too large for the curvature overshoots and ends in Inf/NaN; one too small never
moves. The grid spans three decades below the script's own value (x0.3 ... x0.001), and,
when the baseline stalled rather than diverged, x3, x10 and x100 above it (Adam at 1e-5 is
a hundred times below its usual 1e-3), never above MAX_RAISED.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.helpers import diverges, number, optimizer_fix, stalls, tidy
from nanfix.probes.setup import TrainSetup
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("N701", "N702", "N703", "N704", "N705", "N706", "N707", "N708",
           "O501", "S801", "S802", "S803", "S804", "S805", "U901", "U902")
# The order is the order of trying: whole decades first, so a tight cap still spans them.
LOWER = (0.1, 0.01, 0.001, 0.3, 0.03, 0.003)
HIGHER = (10.0, 100.0, 3.0)
MAX_RAISED = 1.0  # a raised rate above this is not a plausible cure for a stall
# Each optimizer's usual rate: a stall at a rate orders of magnitude below it is tried there
# first (Adam at 1e-6 needs x1000, more than the grid's raises).
USUAL_RATES = {"Adam": 1e-3, "AdamW": 1e-3, "Nadam": 1e-3, "Adamax": 2e-3, "RMSprop": 1e-3,
               "Lion": 1e-4, "Lamb": 1e-3, "SGD": 1e-2, "Adagrad": 1e-2, "Adadelta": 1.0}


def current_rate(setup: TrainSetup) -> float | None:
    """The script's learning rate (None for a schedule: those are left alone)."""
    return number(setup.optimizer_settings.get("learning_rate"))


@family("lr", "Change the learning rate", answers=ANSWERS, priority=10)
def learning_rate(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    rate = current_rate(setup)
    if not rate or rate <= 0:
        return []
    rate = tidy(rate, 6)
    if grid:
        values = [float(value) for value in grid]
    else:
        factors = list(LOWER)
        raising = stalls(findings) and not diverges(findings)
        if raising:
            factors = list(HIGHER) + factors
        values = [rate * factor for factor in factors]
        usual = USUAL_RATES.get(setup.optimizer_name)
        if raising and usual and usual > rate * max(HIGHER):
            values.insert(0, usual)
    fixes = []
    for value in values:
        value = tidy(value)
        if value <= 0 or value == rate or (not grid and value > max(rate, MAX_RAISED)):
            continue
        factor = value / rate
        fixes.append(optimizer_fix(
            setup, id=f"lr-{value:g}", family="lr",
            title=f"{'Lower' if factor < 1 else 'Raise'} the learning rate x{tidy(factor, 2):g} ({rate:g} → {value:g})",
            settings={"learning_rate": value}, magnitude=abs(math.log10(factor))))
    return fixes

