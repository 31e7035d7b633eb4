"""What one training step of a model costs, in floating-point operations, read from its layers.

The sweep's budget turns it into modelled seconds (`nanfix.sweep.budget`); the probes use it
to tell a dispatch-bound step, whose seeds are worth stacking, from a compute-bound one
(`nanfix.probes.stack`). It reads shapes only: nothing is traced or run.
"""

from __future__ import annotations

import math
from typing import Any


def layer_flops(layer: Any) -> float:
    """Multiply-adds of one sample through `layer`: each weight once per output position
    (each time step for a recurrent layer)."""
    weights = sum(math.prod(int(d) for d in variable.shape) for variable in layer.trainable_weights)
    if not weights:
        return 0.0
    try:
        shape = layer.input.shape if hasattr(layer, "cell") else layer.output.shape
        positions = math.prod(int(d) for d in shape[1:-1] if d is not None) if len(shape) > 2 else 1
    except (AttributeError, ValueError, TypeError):  # a subclassed model's layer: no graph
        positions = 1
    return float(weights * positions)


def leaf_layers(model: Any) -> list:
    """The layers that compute (nested models and blocks opened up)."""
    layers = getattr(model, "_flatten_layers", None)
    return [layer for layer in (layers(include_self=False) if layers else model.layers)
            if not getattr(layer, "layers", None)]


def step_flops(model: Any, batch_size: int) -> float:
    """Floating-point operations of one training step: forward and backward (about three
    forward passes) of two operations per multiply-add, for every sample of the batch."""
    per_sample = sum(layer_flops(layer) for layer in leaf_layers(model))
    if not per_sample:  # nothing readable: count every weight once
        per_sample = float(sum(math.prod(int(d) for d in v.shape) for v in model.trainable_weights))
    return 6.0 * batch_size * per_sample
