"""What the fix families share: reading the findings they answer, the optimizer's settings,
and a serialized model's layers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from nanfix.capture.task import LAYOUT_CLASSES, Activation
from nanfix.findings.catalog import with_symptom
from nanfix.fixes.catalog import Fix
from nanfix.fixes.source.edits import OptimizerEdit
from nanfix.probes.setup import (
    TrainSetup,
    activation_name,
    layer_configs,
    model_config,
    rebuildable,
)
from nanfix.records import Finding, Symptom

ACTIVATION_CLASSES = ("Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax")


def codes(findings: Iterable[Finding]) -> set[str]:
    return {finding.code for finding in findings}


def answered(findings: Iterable[Finding], code: str) -> list[Finding]:
    """The findings of `code`: what a family answering it reads its evidence from."""
    return [finding for finding in findings if finding.code == code]


def diverges(findings: Iterable[Finding]) -> bool:
    """Some finding is a symptom of a divergence (NaN, an explosion, weights blowing up)."""
    return bool(with_symptom(list(findings), Symptom.DIVERGENCE))


def stalls(findings: Iterable[Finding]) -> bool:
    """Some finding is a symptom of a stall (finite, but nothing learned)."""
    return bool(with_symptom(list(findings), Symptom.STALL))


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(float(value)) else None


def tidy(value: float, digits: int = 3) -> float:
    """0.30000000000000004 -> 0.3, 9.9999997e-06 -> 1e-05."""
    return float(f"{value:.{digits}g}")


def optimizer_fix(setup: TrainSetup, *, id: str, family: str, title: str,
                  settings: dict[str, Any], magnitude: float = 1.0) -> Fix:
    """A fix that only changes optimizer arguments (the cheapest kind to probe and to apply)."""
    return Fix(base=setup, id=id, family=family, title=title, edits=(OptimizerEdit(dict(settings)),),
               magnitude=magnitude)


def layers_of(setup: TrainSetup) -> list[dict]:
    """The serialized layer configs of the captured model ([] for a subclassed model)."""
    if not rebuildable(setup.model):
        return []
    return layer_configs(model_config(setup.model))


def activation_of(layer: dict) -> Activation:
    """The activation a serialized layer applies."""
    return Activation.of(activation_name(layer))




def is_weighted(layer: dict) -> bool:
    return "units" in layer.get("config", {}) or "filters" in layer.get("config", {})


def followed_by_activation(layers: list[dict], index: int) -> bool:
    """A Dense/Conv whose output goes through an activation layer next is not linear."""
    for layer in layers[index + 1:]:
        if layer.get("class_name") in ("BatchNormalization", "LayerNormalization", *LAYOUT_CLASSES):
            continue
        return layer.get("class_name") in ACTIVATION_CLASSES
    return False
