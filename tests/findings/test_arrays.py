"""Tests for the D1xx rules (nanfix/findings/arrays.py): the statistics of the input and target
arrays, and a positive test of each code on a tiny real model, with its evidence checked.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

import nanfix.capture.task as task_module
from nanfix import fixes
from nanfix.capture.training_data import TrainingData
from nanfix.findings.arrays import measure_array
from nanfix.records import Severity

from .helpers import RNG, class_ids, codes, diagnose, mlp, one_hot, only, scaled


def test_measure_array_matches_numpy_across_chunks(monkeypatch):
    import nanfix.findings.arrays as data

    monkeypatch.setattr(data, "CHUNK_ELEMENTS", 37)  # many uneven chunks
    x = RNG.normal(5.0, 3.0, size=(101, 7))
    stats = measure_array(x)
    assert stats.mean == pytest.approx(x.mean())
    assert stats.std == pytest.approx(x.std())
    np.testing.assert_allclose(stats.column_min, x.min(axis=0))
    np.testing.assert_allclose(stats.column_max, x.max(axis=0))


def test_d101_nonfinite_inputs_names_rows_and_columns():
    x = scaled()
    x[3, 5] = np.nan
    x[7, 5] = np.nan
    x[10, 0] = np.inf
    item = only(diagnose(mlp(8, 10, "softmax"), x, one_hot(), "categorical_crossentropy"), "D101")
    assert item.severity is Severity.ERROR
    assert item.evidence["nan"] == 2 and item.evidence["inf"] == 1
    assert item.evidence["rows"] == [3, 7, 10]
    assert item.evidence["columns"] == [0, 5]
    assert "3, 7, 10" in item.message


def test_d101_image_positions_are_pixel_coordinates():
    x = RNG.random((8, 4, 4, 1)).astype("float32")
    x[2, 1, 3, 0] = np.nan
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), layers.Flatten(), layers.Dense(3, activation="softmax")]
    )
    item = only(diagnose(model, x, one_hot(8, 3), "categorical_crossentropy"), "D101")
    assert item.evidence["rows"] == [2]
    assert item.evidence["columns"] == [(1, 3, 0)]


def test_d102_nonfinite_targets():
    y = RNG.normal(size=(64, 1)).astype("float32")
    y[4, 0] = np.nan
    item = only(diagnose(mlp(8, 1, None), scaled(), y, "mse"), "D102")
    assert item.severity is Severity.ERROR
    assert item.evidence["rows"] == [4] and item.evidence["nan"] == 1


def test_d103_some_constant_columns_is_info():
    x = scaled()
    x[:, [0, 3, 6]] = 0.0
    item = only(diagnose(mlp(8, 10, "softmax"), x, one_hot(), "categorical_crossentropy"), "D103")
    assert item.severity is Severity.INFO
    assert item.evidence["constant_columns"] == 3 and item.evidence["first"] == [0, 3, 6]


def test_d103_all_constant_columns_is_a_warning():
    x = np.ones((64, 8), dtype="float32")
    item = only(diagnose(mlp(8, 10, "softmax"), x, one_hot(), "categorical_crossentropy"), "D103")
    assert item.severity is Severity.WARNING
    assert item.evidence["constant_columns"] == 8


def test_d104_raw_pixels_are_unscaled():
    x = RNG.integers(0, 256, size=(64, 8)).astype("uint8")
    item = only(diagnose(mlp(8, 10, "softmax"), x, one_hot(), "categorical_crossentropy"), "D104")
    assert item.severity is Severity.WARNING
    assert item.evidence["raw_pixels"] is True and item.evidence["x_max"] == 255
    assert "raw 0..255 pixels" in item.message


def test_d104_token_ids_feeding_an_embedding_are_not_unscaled_inputs():
    tokens = RNG.integers(1, 5000, size=(64, 20))  # a text classifier's padded word ids
    for model in (keras.Sequential([keras.Input((20,), dtype="int32"), layers.Embedding(5000, 8),
                                    layers.LSTM(8), layers.Dense(2, activation="softmax")]),
                  _functional_embedding()):
        found = diagnose(model, tokens, one_hot(classes=2), "categorical_crossentropy")
        assert "D104" not in codes(found)
        assert fixes.FAMILIES["input_scaling"].fixes(_setup_of(model, tokens), []) == []  # nothing to scale
    pixels = RNG.integers(0, 256, size=(64, 8)).astype("float32")  # the same values as features:
    assert "D104" in codes(diagnose(mlp(8, 2, "softmax"), pixels, one_hot(classes=2), "categorical_crossentropy"))


def _functional_embedding():
    words = keras.Input((20,), dtype="int32")
    pooled = layers.GlobalAveragePooling1D()(layers.Embedding(5000, 8)(words))
    return keras.Model(words, layers.Dense(2, activation="softmax")(pooled))


def _setup_of(model, x):
    from nanfix.probes.setup import from_capture

    y = one_hot(classes=2)
    data = TrainingData(x=x, y=y, sample_weight=None, batch_size=32)
    return from_capture(model, model.optimizer, "categorical_crossentropy", data,
                        task_module.infer(model, "categorical_crossentropy", y))


def test_d104_large_continuous_inputs_are_not_called_pixels():
    x = (RNG.normal(size=(64, 8)) * 5000).astype("float32")
    item = only(diagnose(mlp(8, 10, "softmax"), x, one_hot(), "categorical_crossentropy"), "D104")
    assert item.evidence["raw_pixels"] is False
    assert "standardise" in item.message


def test_d105_large_regression_targets():
    y = RNG.normal(200000, 50000, size=(64, 1)).astype("float32")
    item = only(diagnose(mlp(8, 1, None), scaled(), y, "mse"), "D105")
    assert item.severity is Severity.WARNING
    assert item.evidence["y_max"] > 100000
    assert item.fix_families == ["target_scaling"]


def test_d105_not_for_classifiers():
    assert "D105" not in codes(
        diagnose(mlp(8, 10, "softmax"), scaled(), class_ids(), "sparse_categorical_crossentropy")
    )
