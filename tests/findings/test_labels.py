"""Tests for the L2xx rules (nanfix/findings/labels.py): targets that do not fit the loss or the
output, each on a tiny real model, with its evidence checked.
"""

from __future__ import annotations

import numpy as np

from nanfix.records import Severity

from .helpers import RNG, class_ids, codes, diagnose, mlp, one_hot, only, scaled


def test_l201_one_hot_targets_with_sparse_loss():
    item = only(
        diagnose(mlp(8, 10, "softmax"), scaled(), one_hot(), "sparse_categorical_crossentropy"),
        "L201",
    )
    assert item.severity is Severity.ERROR
    assert item.evidence["y_shape"] == [64, 10] and item.evidence["expected"] == "class ids"


def test_l201_class_ids_with_categorical_loss():
    found = diagnose(
        mlp(8, 10, "softmax"), scaled(), class_ids().reshape(-1, 1), "categorical_crossentropy"
    )
    item = only(found, "L201")
    assert item.evidence["expected"] == "one-hot rows" and item.evidence["output_units"] == 10
    assert "integer class ids" in item.message


def test_l202_sparse_ids_counted_from_one():
    y = class_ids() + 1  # 1..10 for a 10-unit output
    item = only(
        diagnose(mlp(8, 10, "softmax"), scaled(), y, "sparse_categorical_crossentropy"), "L202"
    )
    assert item.severity is Severity.ERROR
    assert item.evidence["values"] == [10.0] and item.evidence["label_max"] == 10
    assert item.evidence["count"] == int(np.sum(y == 10))


def test_l202_one_hot_width_differs_from_output_units():
    item = only(
        diagnose(mlp(8, 10, "softmax"), scaled(), one_hot(64, 5), "categorical_crossentropy"),
        "L202",
    )
    assert item.evidence["width"] == 5 and item.evidence["output_units"] == 10


def test_l203_class_ids_divided_by_255():
    y = class_ids() / 255.0
    item = only(
        diagnose(mlp(8, 10, "softmax"), scaled(), y, "sparse_categorical_crossentropy"), "L203"
    )
    assert item.severity is Severity.ERROR
    assert "divided by 255" in item.message


def test_l203_one_hot_rows_scaled():
    y = one_hot() / 255.0
    item = only(diagnose(mlp(8, 10, "softmax"), scaled(), y, "categorical_crossentropy"), "L203")
    assert item.evidence["rows_not_summing_to_one"] == 64


def test_l204_class_ids_into_a_sigmoid_with_binary_crossentropy():
    y = class_ids().reshape(-1, 1).astype("float32")
    item = only(diagnose(mlp(8, 1, "sigmoid"), scaled(), y, "binary_crossentropy"), "L204")
    assert item.severity is Severity.ERROR
    assert item.evidence["target_max"] == 9 and item.evidence["allowed"] == [0.0, 1.0]
    assert "class ids" in item.message


def test_l204_targets_beyond_a_sigmoid_output_with_mse():
    y = RNG.uniform(0, 100, size=(64, 1)).astype("float32")
    item = only(diagnose(mlp(8, 1, "sigmoid"), scaled(), y, "mse"), "L204")
    assert item.severity is Severity.ERROR
    assert item.evidence["activation"] == "sigmoid"


def test_l204_a_few_negative_targets_under_relu_is_a_warning():
    y = RNG.uniform(0, 5, size=(64, 1)).astype("float32")
    y[:2] = -1.0
    item = only(diagnose(mlp(8, 1, "relu"), scaled(), y, "mse"), "L204")
    assert item.severity is Severity.WARNING
    assert item.evidence["count"] == 2 and item.evidence["rows"] == [0, 1]


def test_l206_class_ids_under_a_binary_loss_name_how_many_classes():
    item = only(diagnose(mlp(8, 1, "sigmoid"), scaled(), class_ids(64, 10), "binary_crossentropy"), "L206")
    assert item.severity is Severity.ERROR and item.evidence["classes"] == 10
    assert "Dense(10, activation='softmax')" in item.message
    assert "L206" not in codes(diagnose(mlp(8, 1, "sigmoid"), scaled(), class_ids(64, 2), "binary_crossentropy"))
