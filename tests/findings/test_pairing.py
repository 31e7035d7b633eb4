"""Tests for the P3xx rules (nanfix/findings/pairing.py): the output activation, the loss and its
arguments paired wrongly, and hand-written losses that take log() of the prediction, each on a
tiny real model, with its evidence checked.
"""

from __future__ import annotations

import keras
import pytest
from keras import layers

from nanfix.capture.origins import remember
from nanfix.records import Severity

from .helpers import RNG, class_ids, codes, diagnose, mlp, one_hot, only, scaled


def test_p301_sigmoid_output_with_categorical_crossentropy():
    model = mlp(8, 10, "sigmoid")
    remember(model.layers[-1], "_nanfix_origin", "train.py:12")
    item = only(diagnose(model, scaled(), one_hot(), "categorical_crossentropy"), "P301")
    assert item.severity is Severity.ERROR
    assert item.evidence["activation"] == "sigmoid" and item.where == "train.py:12"


def test_p301_linear_output_with_binary_crossentropy():
    y = RNG.integers(0, 2, (64, 1)).astype("float32")
    item = only(diagnose(mlp(8, 1, None), scaled(), y, "binary_crossentropy"), "P301")
    assert item.severity is Severity.ERROR and item.evidence["activation"] == "linear"


def test_p301_activation_layer_after_dense_counts_as_the_output():
    model = keras.Sequential(
        [
            keras.Input((8,)),
            layers.Dense(16, activation="relu"),
            layers.Dense(10),
            layers.Activation("softmax"),
        ]
    )
    assert "P301" not in codes(diagnose(model, scaled(), one_hot(), "categorical_crossentropy"))


def test_p302_softmax_on_one_unit():
    y = RNG.integers(0, 2, (64, 1)).astype("float32")
    item = only(diagnose(mlp(8, 1, "softmax"), scaled(), y, "binary_crossentropy"), "P302")
    assert item.severity is Severity.ERROR
    assert item.evidence["output_units"] == 1 and "sigmoid" in item.message
    assert "P301" not in codes(diagnose(mlp(8, 1, "softmax"), scaled(), y, "binary_crossentropy"))


def test_p303_softmax_output_with_from_logits():
    loss = keras.losses.CategoricalCrossentropy(from_logits=True)
    item = only(diagnose(mlp(8, 10, "softmax"), scaled(), one_hot(), loss), "P303")
    assert item.severity is Severity.ERROR and item.evidence["activation"] == "softmax"


def test_p303_sigmoid_output_with_from_logits_is_a_warning():
    loss = keras.losses.BinaryCrossentropy(from_logits=True)
    y = RNG.integers(0, 2, (64, 1)).astype("float32")
    item = only(diagnose(mlp(8, 1, "sigmoid"), scaled(), y, loss), "P303")
    assert item.severity is Severity.WARNING


def bare_log_loss(y_true, y_pred):
    return -keras.ops.sum(y_true * keras.ops.log(y_pred), axis=-1)


def clipped_log_loss(y_true, y_pred):
    return -keras.ops.sum(y_true * keras.ops.log(keras.ops.clip(y_pred, 1e-8, 1.0)), axis=-1)


def clipped_on_its_own_line_loss(y_true, y_pred):
    # the seed-001 "fix": clip first, then take the log of the clipped prediction
    y_pred = keras.ops.clip(y_pred, 1e-8, keras.ops.max(y_pred))
    return -keras.ops.sum(y_true * keras.ops.log(y_pred))


def stable_loss(y_true, logits):
    return -keras.ops.sum(y_true * keras.ops.log_softmax(logits), axis=-1)


class BareLogLoss(keras.losses.Loss):
    def __init__(self, name="bare_log"):
        super().__init__(name=name)

    def call(self, y_true, y_pred):
        smooth = keras.ops.log(1.0 + y_true)  # a log of the targets only: not the prediction
        return -keras.ops.sum(smooth * keras.ops.log(y_pred), axis=-1)


def test_p304_bare_log_in_a_custom_loss_points_at_the_line():
    item = only(diagnose(mlp(8, 10, "softmax"), scaled(), one_hot(), bare_log_loss), "P304")
    assert item.severity is Severity.ERROR and item.evidence["kind"] == "bare"
    line = bare_log_loss.__code__.co_firstlineno + 1
    assert item.where == f"test_pairing.py:{line}"
    assert "log(y_pred)" in item.evidence["expression"]


def test_p304_clipped_log_hides_the_nan_but_cuts_the_gradient():
    item = only(diagnose(mlp(8, 10, "softmax"), scaled(), one_hot(), clipped_log_loss), "P304")
    assert item.severity is Severity.WARNING and item.evidence["kind"] == "clipped"
    assert "clip hides the NaN" in item.message and "gradient" in item.message


def test_p304_clip_on_an_earlier_line_is_still_a_clip():
    found = diagnose(mlp(8, 10, "softmax"), scaled(), one_hot(), clipped_on_its_own_line_loss)
    item = only(found, "P304")
    assert item.evidence["kind"] == "clipped" and "keras.ops.clip" in item.evidence["clipped_by"]
    line = clipped_on_its_own_line_loss.__code__.co_firstlineno + 3
    assert item.where == f"test_pairing.py:{line}"


def test_p304_loss_subclass_and_stable_formulation():
    item = only(diagnose(mlp(8, 10, "softmax"), scaled(), one_hot(), BareLogLoss()), "P304")
    assert item.evidence["log_calls"] == 1  # log(1 + y_true) is not counted
    assert "P304" not in codes(diagnose(mlp(8, 10, None), scaled(), one_hot(), stable_loss))


def test_p305_mse_on_one_hot_classifier_is_info():
    item = only(diagnose(mlp(8, 10, "softmax"), scaled(), one_hot(), "mse"), "P305")
    assert item.severity is Severity.INFO
    assert item.evidence["label_format"] == "onehot"


@pytest.mark.parametrize(("loss", "units"), [("sparse_categorical_crossentropy", 2),
                                             ("binary_crossentropy", 1),
                                             ("categorical_crossentropy", 2)])
def test_binary_integer_labels_are_never_read_as_multi_label_rows(loss, units):
    """Integer 0/1 labels of shape (N,) are class ids (or yes/no labels), whatever the loss:
    P306 (multi-hot rows under a one-class loss) reads rows, never a flattened vector."""
    labels = class_ids(64, 2)
    found = diagnose(mlp(8, units, "softmax" if units > 1 else "sigmoid"), scaled(), labels, loss)
    assert "P306" not in codes(found), [(item.code, item.message) for item in found]
