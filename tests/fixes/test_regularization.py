"""Tests for the regularization fix family (nanfix/fixes/regularization.py): it changes what
M404 found dominant, as the finding's evidence names it, so the user's limit for M404 moves
what is found and what is fixed alike. Its cure is measured on its fixture,
tests/fixtures/fixes/regularization.py (tests/fixes/test_fixtures.py).
"""

from __future__ import annotations

import keras
import numpy as np
from builders import blobs, make_setup

import nanfix.findings as findings
from nanfix.config import Settings
from nanfix.findings.catalog import Context
from nanfix.fixes import FAMILIES


def heavy_l2():
    return keras.Sequential([keras.Input((20,)),
                             keras.layers.Dense(32, activation="relu",
                                                kernel_regularizer=keras.regularizers.L2(10.0)),
                             keras.layers.Dense(4, activation="softmax",
                                                kernel_regularizer=keras.regularizers.L2(0.05))])


def found_and_fixed(settings):
    x, ids = blobs()
    setup = make_setup(heavy_l2(), keras.optimizers.Adam(), "categorical_crossentropy", x, np.eye(4)[ids])
    context = Context(model=setup.model, optimizer=setup.model.optimizer, loss=setup.loss,
                      task=setup.task, data=setup.data, settings=settings)
    found = findings.run("preflight", context)
    return [item for item in found if item.code == "M404"], FAMILIES["regularization"].fixes(setup, found)


def test_the_fix_changes_what_m404_found_under_the_user_s_limit():
    (item,), (fix,) = found_and_fixed(Settings())
    assert [heavy["factor"] for heavy in item.evidence["regularizers"]] == [10.0]  # 0.05 is below 0.1
    assert fix.changes == (f"{item.evidence['layer']} (Dense): kernel_regularizer L2(l2=10) → L2(l2=0.0001)",)
    # a stricter limit finds both, and the fix changes both
    (item,), (fix,) = found_and_fixed(Settings(rules={"M404": {"factor": 0.01}}))
    assert item.evidence["limits"] == {"factor": 0.01} and len(fix.edits) == 2
    # a looser one finds neither, and nothing is changed
    assert found_and_fixed(Settings(rules={"M404": {"factor": 20.0}})) == ([], [])
