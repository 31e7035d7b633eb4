"""Name the TensorFlow op that produced the first non-finite value.

The probe's monitors already know the step and the layer. To name the op, we replay the
seed to the step before (same seed, same batches, so the same weights), then run the bad
step eagerly with `tf.debugging.enable_check_numerics()`: the first op whose output is NaN or
Inf raises, and its message carries the op type. The replay is needed because the checks
make every step slow; they are on for one step only.
"""

from __future__ import annotations

import re
from typing import Any

import tensorflow as tf

from nanfix.trainer import Trainer
from nanfix.trainingdata import map_nest

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
