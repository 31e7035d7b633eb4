"""Tests for the init fix family (nanfix/fixes/init.py): fan-in initializers and zero biases for
large normal weights, and measured to cure them.
"""

from __future__ import annotations

import keras
import numpy as np
from builders import blobs, make_setup, pixels

from nanfix.probes.build import build_model

from .helpers import book_network, finding, measure, proposed


def test_init_replaces_large_normals_with_fan_in_initializers_and_zero_biases():
    x, ids = pixels(n=64, features=784)
    setup = make_setup(book_network(), keras.optimizers.SGD(3.0), "mse", x / 255, np.eye(10)[ids])
    (fix,) = proposed(setup, "init", [finding("M402", ["init"])])
    rebuilt = build_model(fix.apply(setup))
    for layer in rebuilt.layers:
        assert type(layer.kernel_initializer).__name__ == "GlorotUniform"
        assert type(layer.bias_initializer).__name__ == "Zeros"
    assert "RandomNormal" in fix.changes[0] and "glorot_uniform" in fix.changes[0]


def test_init_fix_cures_large_normal_weights():
    x, ids = blobs()
    init = keras.initializers.RandomNormal(stddev=3.0)
    model = keras.Sequential([keras.Input((20,)),
                              keras.layers.Dense(64, activation="relu", kernel_initializer=init),
                              keras.layers.Dense(64, activation="relu", kernel_initializer=init),
                              keras.layers.Dense(4, activation="softmax", kernel_initializer=init)])
    setup = make_setup(model, keras.optimizers.SGD(0.05), "categorical_crossentropy", x, np.eye(4)[ids])
    baseline, _, results = measure(setup, ["init"], steps=150)
    assert baseline.seeds_ok == 0
    assert results[0].id == "init-fan-in" and results[0].outcome == "cures" and results[0].rank == 1
