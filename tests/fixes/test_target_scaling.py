"""Tests for the target_scaling fix family (nanfix/fixes/target_scaling.py): large regression
targets standardised, in a Sequential model by the model itself (a last Rescaling layer and a
loss weighted by 1/std², so its predictions stay in the user's units), elsewhere before fit.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from builders import make_setup

from nanfix.probes.build import build_model

from .helpers import mlp, proposed


def regression(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(256, 4)).astype("float32")
    return x, (x @ rng.normal(size=(4, 1)) * 300 + 1000).astype("float32")


def test_in_a_sequential_model_predictions_stay_in_the_user_s_units():
    x, y = regression()
    setup = make_setup(mlp(4, 1, "linear"), keras.optimizers.SGD(0.01), "mse", x, y)
    (fix,) = proposed(setup, "target_scaling")
    fixed = fix.apply(setup)
    assert fixed.data is setup.data and fixed.loss_weights == pytest.approx(1 / float(y.std()) ** 2, rel=1e-4)
    last = build_model(fixed).layers[-1]
    assert type(last).__name__ == "Rescaling"
    assert last.get_config()["scale"] == pytest.approx(float(y.std()), rel=1e-5)
    assert last.get_config()["offset"] == pytest.approx(float(y.mean()), rel=1e-5)
    # a model that outputs the mean of standardised targets predicts the mean in the user's units
    assert float(last(np.zeros((1, 1), "float32"))[0, 0]) == pytest.approx(float(y.mean()), rel=1e-5)


def test_elsewhere_the_targets_are_standardised_before_fit():
    x, y = regression()
    given = keras.Input((4,))
    model = keras.Model(given, keras.layers.Dense(1)(keras.layers.Dense(16, activation="relu")(given)))
    setup = make_setup(model, keras.optimizers.SGD(0.01), "mse", x, y)
    (fix,) = proposed(setup, "target_scaling")
    scaled = fix.apply(setup).data.y
    assert abs(float(scaled.mean())) < 1e-3 and float(scaled.std()) == pytest.approx(1.0, rel=1e-3)
    assert "y_pred * y_std + y_mean" in fix.changes[0]
