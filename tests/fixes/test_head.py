"""Tests for the head fix family (nanfix/fixes/head.py): an output with one unit per class
where the labels hold more classes than the output can tell apart. Its cure is measured on
its fixture, tests/fixtures/fixes/head.py (tests/fixes/test_fixtures.py).
"""

from __future__ import annotations

import keras
import numpy as np
from builders import blobs, make_setup

from nanfix.capture.task import Activation, TaskKind
from nanfix.fixes import FAMILIES
from nanfix.probes.build import build_model

from .helpers import mlp


def test_ten_class_ids_under_one_sigmoid_get_ten_softmax_units():
    x, ids = blobs(classes=10)
    setup = make_setup(mlp(20, 1, "sigmoid"), keras.optimizers.Adam(), "binary_crossentropy", x, ids)
    (fix,) = FAMILIES["head"].fixes(setup, [])
    assert fix.id == "head-10"
    fixed = fix.apply(setup)
    assert build_model(fixed).output_shape[-1] == 10
    assert fixed.loss == "sparse_categorical_crossentropy"
    assert fixed.task.kind is TaskKind.MULTICLASS and fixed.task.classes == 10
    assert fixed.task.output_activation is Activation.SOFTMAX
    assert fix.changes[-1] == "loss binary_crossentropy → sparse_categorical_crossentropy"
    # the data is left as it is: the head changes, not the task
    assert fixed.data is setup.data


def test_a_head_that_fits_the_labels_or_two_classes_are_left_alone():
    x, ids = blobs(classes=4)
    fitting = make_setup(mlp(20, 4, "softmax"), keras.optimizers.Adam(), "sparse_categorical_crossentropy", x, ids)
    assert FAMILIES["head"].fixes(fitting, []) == []
    binary = make_setup(mlp(20, 1, "sigmoid"), keras.optimizers.Adam(), "binary_crossentropy",
                        x, (ids > 1).astype("float32"))
    assert FAMILIES["head"].fixes(binary, []) == []  # one sigmoid unit tells two classes apart
    one_hot = make_setup(mlp(20, 1, "linear"), keras.optimizers.Adam(),
                         keras.losses.CategoricalCrossentropy(from_logits=True), x, np.eye(4)[ids])
    (fix,) = FAMILIES["head"].fixes(one_hot, [])
    assert fix.apply(one_hot).loss == "categorical_crossentropy"  # one-hot rows keep their loss
