"""Tests for the input_scaling fix family (nanfix/fixes/input_scaling.py): in a Sequential
model the scaling is the model's first layer (Rescaling(1 / 255), or a Normalization adapted
to the training inputs), so evaluate and predict get it too; elsewhere the inputs are divided
by 255 (train and validation data) or standardised before fit; and it is measured to cure raw
pixels.
"""

from __future__ import annotations

import keras
import numpy as np
from builders import make_setup, pixels

from nanfix.probes.build import build_model

from .helpers import by_id, finding, measure, mlp, proposed


def functional_mlp(inputs, outputs):
    given = keras.Input((inputs,))
    hidden = keras.layers.Dense(32, activation="relu")(given)
    return keras.Model(given, keras.layers.Dense(outputs, activation="softmax")(hidden))


def test_in_a_sequential_model_the_scaling_is_its_first_layer_and_the_data_stays_as_it_is():
    x, ids = pixels()
    setup = make_setup(mlp(64, 10), keras.optimizers.SGD(0.1), "categorical_crossentropy",
                       x[:400], np.eye(10)[ids[:400]], x_val=x[400:], y_val=np.eye(10)[ids[400:]])
    found = proposed(setup, "input_scaling", [finding("D104", ["input_scaling"])])
    divided = by_id(found, "inputs-divide-255").apply(setup)
    first = build_model(divided).layers[0]
    assert type(first).__name__ == "Rescaling" and first.get_config()["scale"] == 1 / 255
    assert divided.data is setup.data  # evaluate(x_test) on raw pixels is right with this model
    standardised = build_model(by_id(found, "inputs-standardise").apply(setup)).layers[0]
    assert type(standardised).__name__ == "Normalization"
    np.testing.assert_allclose(np.asarray(standardised.mean).ravel(), x[:400].mean(axis=0), rtol=1e-4)


def test_elsewhere_the_inputs_are_divided_by_255_in_train_and_validation_data():
    x, ids = pixels()
    setup = make_setup(functional_mlp(64, 10), keras.optimizers.SGD(0.1), "categorical_crossentropy",
                       x[:400], np.eye(10)[ids[:400]], x_val=x[400:], y_val=np.eye(10)[ids[400:]])
    found = proposed(setup, "input_scaling", [finding("D104", ["input_scaling"])])
    divide = by_id(found, "inputs-divide-255")
    changed = divide.apply(setup)
    assert changed.data.x.max() <= 1.0 and changed.data.x_val.max() <= 1.0
    assert setup.data.x.max() > 200  # the original is untouched
    assert divide.edits[0].lines == ("{x} = {x} / 255.0",)
    standardised = by_id(found, "inputs-standardise").apply(setup).data.x
    assert abs(float(standardised.mean())) < 0.05


def test_input_scaling_cures_raw_pixels():
    x, ids = pixels()
    setup = make_setup(mlp(64, 10), keras.optimizers.SGD(learning_rate=0.1),
                       "categorical_crossentropy", x, np.eye(10)[ids])
    baseline, found, results = measure(setup, ["input_scaling", "lr"])
    assert baseline.seeds_ok == 0 and "D104" in {f.code for f in found}
    assert results[0].id == "inputs-divide-255" and results[0].outcome == "cures"
    assert results[0].changes[0].startswith("inputs → Rescaling(1 / 255) as the model's first layer")
