"""Where the first non-finite value appeared: the step, the stage and layer, then the op.

`locate_nonfinite` reads one step's monitors (forward activations, the loss, gradients,
updated weights) and names the first place a value stopped being finite. To name the op, we
replay the
seed to the step before (same seed, same batches, so the same weights), then run the bad
step eagerly with `tf.debugging.enable_check_numerics()`: the first op whose output is NaN or
Inf raises, and its message carries the op type. The replay is needed because the checks
make every step slow; they are on for one step only.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import tensorflow as tf

from nanfix.capture.training_data import map_nest
from nanfix.probes.trainer import Trainer
from nanfix.records import NonFinite, NonFiniteKind

OP_PATTERN = re.compile(r'op "?(\w+)"?')


def replay(trainer: Trainer, seed: int, step: int) -> dict[str, Any]:
    """Return {"op", "stage", "message"} for the first non-finite op of `step` (or {})."""
    trainer.reset(seed)
    batches = trainer.batches(seed)
    for _ in range(step):
        trainer.step(next(batches))
    index = next(batches)
    x_all, y_all, weight_all = trainer._tensors
    x = map_nest(lambda a: tf.gather(a, index), x_all)
    y = map_nest(lambda a: tf.gather(a, index), y_all)
    weight = None if weight_all is None else tf.gather(weight_all, index)
    model, optimizer = trainer.model, trainer.optimizer
    stage = "forward"
    tf.debugging.enable_check_numerics()
    try:
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            stage = "loss"
            loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=weight, training=True)
        stage = "backward"
        grads = tape.gradient(loss, model.trainable_variables)
        stage = "update"
        pairs = [(g, v) for g, v in zip(grads, model.trainable_variables, strict=False) if g is not None]
        optimizer.apply_gradients(pairs)
    except (tf.errors.InvalidArgumentError, tf.errors.OpError) as error:
        message = str(error)
        match = OP_PATTERN.search(message)
        detected = [line.strip(" !") for line in message.splitlines() if "Detected" in line]
        return {"op": match.group(1) if match else None, "stage": stage,
                "message": (detected[0] if detected else message.strip().splitlines()[0])[:300]}
    except Exception as error:  # noqa: BLE001 - the replay is a best effort
        return {"op": None, "stage": stage, "message": f"replay failed: {error}"[:300]}
    finally:
        tf.debugging.disable_check_numerics()
    return {}


def locate_nonfinite(step: int, loss: float, stats: dict[str, np.ndarray], layout, trainer) -> NonFinite | None:
    """The first place in this step where a value stopped being finite.

    Forward activations come first (in layer order), then the loss, then gradients (the
    deepest layer first, where backpropagation starts), then the updated weights.
    """
    bad_activations = np.flatnonzero(stats["act_nonfinite"] > 0)
    if bad_activations.size:
        layer = layout.activation_layers[bad_activations[0]]
        return NonFinite(step=step, kind=NonFiniteKind.ACTIVATION, layer=layer, stage="forward",
                         origin=_origin(trainer, layer))
    if not math.isfinite(loss):
        # the loss overflowed on finite outputs: name the layer that feeds it
        layer = layout.activation_layers[-1] if layout.activation_layers else None
        layer = None if layer == "output" else layer
        return NonFinite(step=step, kind=NonFiniteKind.LOSS, layer=layer, stage="loss",
                         origin=_origin(trainer, layer))
    bad_grads = np.flatnonzero(~np.isfinite(stats["grad_max"]))
    if bad_grads.size:
        layer = layout.variable_layers[bad_grads[-1]]
        return NonFinite(step=step, kind=NonFiniteKind.GRADIENT, layer=layer, stage="backward",
                         origin=_origin(trainer, layer))
    bad_weights = np.flatnonzero(~np.isfinite(stats["weight_max"]))
    if bad_weights.size:
        layer = layout.variable_layers[bad_weights[0]]
        return NonFinite(step=step, kind=NonFiniteKind.WEIGHT, layer=layer, stage="update",
                         origin=_origin(trainer, layer))
    bad_state = np.flatnonzero(~np.isfinite(stats["state_max"]))
    if bad_state.size:
        layer = layout.state_layers[bad_state[0]]
        return NonFinite(step=step, kind=NonFiniteKind.WEIGHT, layer=layer, stage="update",
                         origin=_origin(trainer, layer))
    return None


def _origin(trainer: Trainer, layer_name: str | None) -> str | None:
    if not layer_name:
        return None
    for layer in trainer.model.layers:
        if layer.name == layer_name:
            return getattr(layer, "_nanfix_origin", None)
    return None


def name_first_op(trainer: Trainer, baseline) -> dict[str, Any]:
    """Replay the earliest non-finite step of the baseline and name its op on that seed's
    record (the probe's monitors only know the layer)."""
    runs = [run for run in baseline.runs if run.first_nonfinite is not None]
    if not runs:
        return {}
    run = min(runs, key=lambda r: r.first_nonfinite.step)
    result = replay(trainer, run.seed, run.first_nonfinite.step)
    if result.get("op"):
        run.first_nonfinite.op = result["op"]
        run.first_nonfinite.stage = result.get("stage") or run.first_nonfinite.stage
    return result
