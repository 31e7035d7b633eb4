"""Tests for the target_scaling fix family (nanfix/fixes/target_scaling.py): large regression
targets standardised.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from builders import make_setup

from .helpers import mlp, proposed


def test_target_scaling_standardises_large_regression_targets():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = (x @ rng.normal(size=(4, 1)) * 300 + 1000).astype("float32")
    setup = make_setup(mlp(4, 1, "linear"), keras.optimizers.SGD(0.01), "mse", x, y)
    (fix,) = proposed(setup, "target_scaling")
    scaled = fix.apply(setup).data.y
    assert abs(float(scaled.mean())) < 1e-3 and float(scaled.std()) == pytest.approx(1.0, rel=1e-3)
    assert "y_pred * y_std + y_mean" in fix.changes[0]
