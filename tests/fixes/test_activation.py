"""Tests for the activation fix family (nanfix/fixes/activation.py): activations for a linear
stack, replacements for exponential and deep sigmoid stacks, and measured on the book's
network (seed 002).
"""

from __future__ import annotations

import keras
import numpy as np
from builders import blobs, make_setup, pixels

from nanfix.probes.build import build_model

from .helpers import activations, book_network, by_id, finding, measure, proposed


def test_activation_fixes_a_linear_stack_with_softmax_on_the_output():
    x, ids = pixels(n=64, features=784)
    setup = make_setup(book_network(), keras.optimizers.SGD(3.0), "mse", x / 255, np.eye(10)[ids])
    found = proposed(setup, "activation", [finding("M401", ["activation"])])
    assert [fix.id for fix in found] == ["activation-relu", "activation-sigmoid"]
    assert activations(build_model(by_id(found, "activation-relu").apply(setup))) == ["relu", "softmax"]
    assert activations(build_model(by_id(found, "activation-sigmoid").apply(setup))) == ["sigmoid", "softmax"]


def test_activation_replaces_exponential_and_deep_sigmoid_stacks():
    model = keras.Sequential([keras.Input((8,))] + [keras.layers.Dense(8, activation="sigmoid")
                                                    for _ in range(3)]
                             + [keras.layers.Dense(8, activation="exponential"),
                                keras.layers.Dense(3, activation="softmax")])
    x, ids = blobs(n=64, features=8, classes=3)
    setup = make_setup(model, keras.optimizers.SGD(0.1), "categorical_crossentropy", x, np.eye(3)[ids])
    (fix,) = proposed(setup, "activation")
    assert activations(build_model(fix.apply(setup))) == ["relu"] * 4 + ["softmax"]


def test_activation_cures_the_book_network():
    x, ids = pixels(n=600, features=784, noise=60.0)
    setup = make_setup(book_network(), keras.optimizers.SGD(learning_rate=3.0), "mean_squared_error",
                       x / 255.0, np.eye(10)[ids], batch_size=10)
    baseline, _, results = measure(setup, ["activation", "lr"], steps=200)
    assert baseline.seeds_ok == 0
    assert results[0].id == "activation-sigmoid" and results[0].outcome == "cures"
    relu = by_id(results, "activation-relu")
    assert relu.outcome == "fails" and "nothing learned" in relu.note
