"""Tests for the stable_loss fix family (nanfix/fixes/stable_loss.py): a built-in loss for a
hand-written log loss.
"""

from __future__ import annotations

import keras
import numpy as np
from builders import blobs, make_setup

from nanfix.fixes.source.text import Code
from nanfix.probes.build import build_model

from .helpers import activations, by_id, finding, mlp, proposed


def test_stable_loss_replaces_a_hand_written_log_loss():
    def cross_entropy(y_true, y_pred):
        return -keras.ops.sum(y_true * keras.ops.log(y_pred), axis=-1)

    x, ids = blobs()
    setup = make_setup(mlp(20, 4), keras.optimizers.SGD(0.1), cross_entropy, x, np.eye(4)[ids])
    found = proposed(setup, "stable_loss", [finding("P304", ["stable_loss"])])
    builtin = by_id(found, "loss-builtin")
    assert type(builtin.apply(setup).loss).__name__ == "CategoricalCrossentropy"
    assert builtin.edits[-1].loss == Code("{keras}.losses.CategoricalCrossentropy()")
    logits = by_id(found, "loss-builtin-logits").apply(setup)
    assert logits.loss.get_config()["from_logits"] and activations(build_model(logits))[-1] == "linear"
