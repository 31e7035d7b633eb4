"""Tests for the epsilon fix family (nanfix/fixes/epsilon.py): a larger epsilon for the
Adam-family optimizers only.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from builders import blobs, make_setup

from nanfix.fixes.catalog import FAMILIES

from .helpers import by_id, finding, mlp, proposed


def test_epsilon_applies_to_adam_family_and_changes_the_optimizer_config():
    x, ids = blobs()
    for optimizer in (keras.optimizers.Adam(1e-5), keras.optimizers.RMSprop(), keras.optimizers.Nadam()):
        setup = make_setup(mlp(20, 4), optimizer, "categorical_crossentropy", x, np.eye(4)[ids])
        found = proposed(setup, "epsilon", [finding("N706")])
        assert [fix.id for fix in found] == ["epsilon-0.001", "epsilon-0.01", "epsilon-0.0001", "epsilon-0.1"]
        changed = by_id(found, "epsilon-0.01").apply(setup)
        assert changed.optimizer_settings["epsilon"] == 0.01
        assert keras.optimizers.deserialize(changed.optimizer_config).epsilon == pytest.approx(0.01)
        assert setup.optimizer_settings["epsilon"] == pytest.approx(1e-7)
    sgd = make_setup(mlp(20, 4), keras.optimizers.SGD(0.1), "categorical_crossentropy", x, np.eye(4)[ids])
    assert not FAMILIES["epsilon"].applies(sgd, [])
    assert by_id(found, "epsilon-0.01").applies(setup, []) and not by_id(found, "epsilon-0.01").applies(sgd, [])
