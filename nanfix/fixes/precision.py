"""The precision family: float16 training that underflows or overflows, made safe.

float16 holds magnitudes from about 6e-8 to 65504: without loss scaling small gradients
round to 0 (nothing learns) and large ones overflow to Inf (then NaN); Adam's epsilon of 1e-7
itself rounds to 0 in float16, so a vanishing second moment divides by zero. Two cures:
train in float32 (the policy the script sets, back to "float32"), or keep float16 and wrap
the optimizer in `LossScaleOptimizer`, which scales the loss up before the backward pass and
the gradients down after it, skipping the steps that overflow.
"""

from __future__ import annotations

from collections.abc import Sequence

from nanfix.findings.model import HALF_POLICIES
from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.helpers import layers_of
from nanfix.fixes.source.edits import PolicyEdit, WrapOptimizerEdit
from nanfix.probes.setup import TrainSetup, policy_name
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("M403", "N701", "N706")


@family("precision", "Train in float32, or scale the loss", answers=ANSWERS, priority=55, model_edit=True)
def precision(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    half = [layer for layer in layers_of(setup) if policy_name(layer) in HALF_POLICIES]
    if not half:
        return []
    policy = policy_name(half[0])
    fixes: list[Fix] = [Fix(
        base=setup, id="precision-float32", family="precision", title=f"Train in float32 (not {policy})",
        edits=(PolicyEdit("float32", replaces=tuple(sorted(HALF_POLICIES))),), magnitude=1.0)]
    if setup.optimizer_name != "LossScaleOptimizer":
        fixes.append(Fix(
            base=setup, id="precision-loss-scale", family="precision",
            title=f"Keep {policy}, wrap the optimizer in LossScaleOptimizer",
            edits=(WrapOptimizerEdit("LossScaleOptimizer"),), magnitude=1.0))
    return fixes
