"""Tests for the lr fix family (nanfix/fixes/lr.py): the grid of rates it proposes, and a
lower rate measured to cure SGD at 50.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from builders import blobs, make_setup

from .helpers import by_id, finding, measure, mlp, proposed


def test_learning_rate_grid_spans_three_decades_below_the_scripts_rate():
    x, ids = blobs()
    setup = make_setup(mlp(20, 4), keras.optimizers.SGD(learning_rate=3.0),
                       "categorical_crossentropy", x, np.eye(4)[ids])
    lowered = proposed(setup, "lr", [finding("N701")])
    rates = sorted(fix.apply(setup).optimizer_settings["learning_rate"] for fix in lowered)
    assert rates == pytest.approx([0.003, 0.009, 0.03, 0.09, 0.3, 0.9])
    assert by_id(lowered, "lr-0.3").changes == ("SGD(learning_rate=3.0) → SGD(learning_rate=0.3)",)
    assert by_id(lowered, "lr-0.3").magnitude < by_id(lowered, "lr-0.003").magnitude
    # a stall (and no divergence) also tries larger rates, up to x100 but never above 1.0
    raised = {fix.id for fix in proposed(setup, "lr", [finding("S803")])}
    assert not {"lr-30", "lr-9"} & raised
    slow = make_setup(mlp(20, 4), keras.optimizers.Adam(learning_rate=1e-5),
                      "categorical_crossentropy", x, np.eye(4)[ids])
    assert {"lr-0.001", "lr-0.0001", "lr-3e-05"} <= {fix.id for fix in proposed(slow, "lr", [finding("S803")])}
    # a plan's grid gives the values outright
    assert [fix.id for fix in proposed(setup, "lr", [], grid=[0.5, 0.05])] == ["lr-0.5", "lr-0.05"]


def test_lr_fix_cures_sgd_at_fifty():
    x, ids = blobs()
    setup = make_setup(mlp(20, 4), keras.optimizers.SGD(learning_rate=50.0),
                       "categorical_crossentropy", x, np.eye(4)[ids])
    baseline, _, results = measure(setup, ["lr", "clipping"])
    assert baseline.seeds_ok == 0
    best = results[0]
    assert best.family == "lr" and best.outcome == "cures" and best.rank == 1
    assert best.seeds_ok == best.seeds == 3 and best.probe.seeds == 3
    assert all(fix.outcome != "cures" for fix in results if fix.family == "clipping")
