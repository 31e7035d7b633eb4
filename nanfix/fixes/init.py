"""The init family: Keras' fan-in-scaled initializers instead of large fixed-scale ones.

N(0, 1) weights on 784 inputs give pre-activations with a standard deviation near 28:
sigmoids saturate and the first gradient step is enormous. glorot_uniform (he_normal under
ReLU) scales each layer by its fan-in; biases start at zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.helpers import activation_of, layers_of
from nanfix.fixes.source.edits import LayerEdit
from nanfix.probes.setup import TrainSetup
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("M402", "N701", "N703", "N704", "N705", "S801", "S802", "U901", "U902", "U903")
# The family replaces initializers that draw at more than this many times the He scale, and
# biases drawn at this scale or more: a looser bar than M402's, as the family is also tried for
# a divergence no pre-flight rule explained, where a merely large initialisation is worth a try.
KERNEL_FACTOR = 2.0
BIAS_SCALE = 0.1


def initializer_scale(initializer: Any) -> float | None:
    """The standard deviation an initializer draws with (None when unknown or fan-scaled)."""
    if not isinstance(initializer, dict):
        return None
    name, config = initializer.get("class_name"), initializer.get("config", {})
    if name in ("RandomNormal", "TruncatedNormal"):
        return abs(float(config.get("stddev", 0.05))) + abs(float(config.get("mean", 0.0)))
    if name == "RandomUniform":
        low, high = float(config.get("minval", -0.05)), float(config.get("maxval", 0.05))
        return max(abs(low), abs(high)) / math.sqrt(3.0)
    if name == "Constant":
        return abs(float(config.get("value", 0.0)))
    if name == "Ones":
        return 1.0
    return None


def _fan_in(setup: TrainSetup, name: str) -> int | None:
    try:
        kernel = getattr(setup.model.get_layer(name), "kernel", None)
    except ValueError:
        return None
    if kernel is None:
        return None
    return int(np.prod(kernel.shape[:-1])) or None


@family("init", "Use fan-in-scaled initializers", answers=ANSWERS, priority=70, model_edit=True)
def init(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    edits = []
    for layer in layers_of(setup):
        config = layer.get("config", {})
        name = config.get("name")
        if "kernel_initializer" not in config:
            continue
        settings: dict[str, Any] = {}
        fan_in = _fan_in(setup, name)
        scale = initializer_scale(config["kernel_initializer"])
        if scale is not None and fan_in and scale > KERNEL_FACTOR * math.sqrt(2.0 / fan_in):
            settings["kernel_initializer"] = "he_normal" if activation_of(layer).relu_like else "glorot_uniform"
        bias_scale = initializer_scale(config.get("bias_initializer"))
        if config.get("use_bias", True) and bias_scale is not None and bias_scale >= BIAS_SCALE:
            settings["bias_initializer"] = "zeros"
        if settings:
            edits.append(LayerEdit(name, settings))
    if not edits:
        return []
    return [Fix(base=setup, id="init-fan-in", family="init",
                title="Initialise with glorot_uniform / he_normal and zero biases",
                edits=tuple(edits), magnitude=0.5 * len(edits))]
