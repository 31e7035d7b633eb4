"""Tests for the M4xx rules (nanfix/findings/model.py): the layers' activations, initializers and
dtypes, each on a tiny real model, with its evidence checked.
"""

from __future__ import annotations

import keras
import pytest
from keras import layers

from nanfix.capture.origins import remember
from nanfix.records import Severity

from .helpers import RNG, codes, diagnose, one_hot, only, scaled


def test_m401_linear_layer_before_relu_layer_seed_000():
    model = keras.Sequential(
        [
            keras.Input((8,)),
            layers.Dense(32),
            layers.Dense(16, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    remember(model.layers[0], "_nanfix_origin", "train.py:40")
    item = only(diagnose(model, scaled(), one_hot(), "categorical_crossentropy"), "M401")
    assert item.severity is Severity.WARNING
    assert item.evidence["layers"] == [model.layers[0].name, model.layers[1].name]
    assert item.evidence["without_activation"] == [model.layers[0].name]
    assert item.where == "train.py:40" and "train.py:40" in item.message


def test_m401_whole_network_linear_is_an_error_seed_002():
    model = keras.Sequential(
        [keras.Input((8,)), layers.Dense(30), layers.Dropout(0.1), layers.Dense(10)]
    )
    item = only(diagnose(model, scaled(), one_hot(), "mse"), "M401")
    assert item.severity is Severity.ERROR and item.evidence["whole_network_linear"] is True
    assert item.evidence["layers"] == [model.layers[0].name, model.layers[2].name]


def test_m401_follows_a_functional_graph_through_flatten():
    inputs = keras.Input((6, 6, 1))
    conv = layers.Conv2D(4, 3, name="conv_linear")(inputs)
    dense = layers.Dense(8, activation="relu", name="after_flatten")(layers.Flatten()(conv))
    side = layers.Dense(8, activation="relu", name="side")(layers.Flatten()(inputs))
    outputs = layers.Dense(3, activation="softmax")(layers.Concatenate()([dense, side]))
    model = keras.Model(inputs, outputs)
    x = RNG.random((16, 6, 6, 1)).astype("float32")
    item = only(diagnose(model, x, one_hot(16, 3), "categorical_crossentropy"), "M401")
    assert item.evidence["layers"] == ["conv_linear", "after_flatten"]
    assert item.severity is Severity.WARNING


def test_m402_random_normal_stddev_1_on_784_inputs():
    model = keras.Sequential(
        [
            keras.Input((784,)),
            layers.Dense(
                30,
                activation="sigmoid",
                kernel_initializer=keras.initializers.RandomNormal(stddev=1),
            ),
            layers.Dense(10, activation="softmax"),
        ]
    )
    x = RNG.random((32, 784)).astype("float32")
    item = only(diagnose(model, x, one_hot(32), "categorical_crossentropy"), "M402")
    assert item.severity is Severity.WARNING
    assert item.evidence["layer"] == model.layers[0].name
    assert item.evidence["glorot_std"] == pytest.approx((2 / (784 + 30)) ** 0.5)
    assert item.evidence["ratio"] > 15
    assert item.evidence["kernel_initializer"].startswith("RandomNormal(")


def test_m402_large_bias_and_variance_scaling():
    model = keras.Sequential(
        [
            keras.Input((8,)),
            layers.Dense(16, activation="relu", bias_initializer=keras.initializers.Constant(3.0)),
            layers.Dense(
                10,
                activation="softmax",
                kernel_initializer=keras.initializers.VarianceScaling(scale=100.0),
            ),
        ]
    )
    found = [
        f
        for f in diagnose(model, scaled(), one_hot(), "categorical_crossentropy")
        if f.code == "M402"
    ]
    by_layer = {f.evidence["layer"]: f for f in found}
    assert by_layer[model.layers[0].name].evidence["bias_scale"] == 3.0
    assert "kernel_scale" not in by_layer[model.layers[0].name].evidence
    assert by_layer[model.layers[1].name].evidence["ratio"] > 5


def test_m403_float16_layers_without_loss_scaling():
    model = keras.Sequential(
        [
            keras.Input((8,)),
            layers.Dense(16, activation="relu", dtype="float16"),
            layers.Dense(10, activation="softmax", dtype="float32"),
        ]
    )
    item = only(diagnose(model, scaled(), one_hot(), "categorical_crossentropy"), "M403")
    assert item.evidence["policy"] == "float16" and item.evidence["layers"] == [
        model.layers[0].name
    ]
    assert item.evidence["optimizer"] == "Adam"


def test_m403_not_when_the_optimizer_scales_the_loss():
    model = keras.Sequential(
        [
            keras.Input((8,)),
            layers.Dense(16, activation="relu", dtype="mixed_float16"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam())
    assert "M403" not in codes(
        diagnose(model, scaled(), one_hot(), "categorical_crossentropy", optimizer)
    )


def test_m402_custom_initializer_is_measured_from_the_weights():
    class Huge(keras.initializers.Initializer):
        def __call__(self, shape, dtype=None):
            return keras.random.normal(shape, stddev=10.0, dtype=dtype)

    model = keras.Sequential(
        [
            keras.Input((8,)),
            layers.Dense(16, activation="relu", kernel_initializer=Huge()),
            layers.Dense(10, activation="softmax"),
        ]
    )
    item = only(diagnose(model, scaled(), one_hot(), "categorical_crossentropy"), "M402")
    assert item.evidence["kernel_scale"] == pytest.approx(10.0, rel=0.3)
