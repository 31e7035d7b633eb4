"""The precision family: float16 training that underflows or overflows, made safe.

float16 holds magnitudes from about 6e-8 to 65504: without loss scaling small gradients
round to 0 (nothing learns) and large ones overflow to Inf (then NaN); Adam's epsilon of 1e-7
itself rounds to 0 in float16, so a vanishing second moment divides by zero. Two cures:
train in float32 (the policy the script sets, back to "float32"), or keep float16 and wrap
the optimizer in `LossScaleOptimizer`, which scales the loss up before the backward pass and
the gradients down after it, skipping the steps that overflow.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from nanfix.findings.model import HALF_POLICIES
from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.helpers import layers_of
from nanfix.fixes.source.edits import PolicyEdit, WrapOptimizerEdit
from nanfix.probes.setup import TrainSetup
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("M403", "N701", "N706")
FLOAT32 = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
           "registered_name": None}


def _policy(layer: dict) -> str | None:
    """The dtype policy's name in a serialized layer config ("mixed_float16"), or None."""
    config = layer.get("config")
    dtype = config.get("dtype") if isinstance(config, dict) else None
    if isinstance(dtype, dict):
        return (dtype.get("config") or {}).get("name")
    return dtype if isinstance(dtype, str) else None


def _float32(config: dict) -> dict:
    config = copy.deepcopy(config)
    config.pop("compile_config", None)
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if _policy(node) in HALF_POLICIES:
                node["config"]["dtype"] = copy.deepcopy(FLOAT32)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return config


def _loss_scaled(setup: TrainSetup) -> TrainSetup:
    return setup.with_changes(optimizer_config={
        "module": "keras.optimizers", "class_name": "LossScaleOptimizer", "registered_name": None,
        "config": {"name": "loss_scale_optimizer", "inner_optimizer": copy.deepcopy(setup.optimizer_config),
                   "initial_scale": 32768.0, "dynamic_growth_steps": 2000}})


@family("precision", "Train in float32, or scale the loss", answers=ANSWERS, priority=55, model_edit=True)
def precision(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    half = [layer for layer in layers_of(setup) if _policy(layer) in HALF_POLICIES]
    if not half:
        return []
    policy = _policy(half[0])
    fixes: list[Fix] = [Fix(
        id="precision-float32", family="precision", title=f"Train in float32 (not {policy})",
        transform=lambda s: s.edit_model(_float32),
        changes=(f"dtype policy {policy} → float32 ({len(half)} layers)",),
        edits=(PolicyEdit("float32"),), magnitude=1.0)]
    if setup.optimizer_name != "LossScaleOptimizer":
        inner = setup.optimizer_name
        fixes.append(Fix(
            id="precision-loss-scale", family="precision",
            title=f"Keep {policy}, wrap the optimizer in LossScaleOptimizer",
            transform=_loss_scaled,
            changes=(f"{inner}(...) → LossScaleOptimizer({inner}(...))",),
            edits=(WrapOptimizerEdit("LossScaleOptimizer"),), magnitude=1.0))
    return fixes
