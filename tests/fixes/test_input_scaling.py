"""Tests for the input_scaling fix family (nanfix/fixes/input_scaling.py): raw pixels divided by
255 (train and validation data) or standardised, and measured to cure raw pixels.
"""

from __future__ import annotations

import keras
import numpy as np
from builders import make_setup, pixels

from .helpers import by_id, finding, measure, mlp, proposed


def test_input_scaling_divides_pixels_by_255_in_train_and_validation_data():
    x, ids = pixels()
    setup = make_setup(mlp(64, 10), keras.optimizers.SGD(0.1), "categorical_crossentropy",
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
    assert results[0].changes[0].startswith("x → x / 255.0")
