"""Tests for the fix catalog (nanfix/fixes/catalog.py) and the plan: every family is registered
and valid in a plan, every proposed fix describes itself and leaves the setup alone, model
edits are skipped where the model cannot be rebuilt, and the plan takes the findings'
families first.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from builders import blobs, make_setup, pixels

from nanfix import fixes
from nanfix.config import Settings
from nanfix.fixes.catalog import FAMILIES

from .helpers import finding, mlp


def test_every_family_is_registered(tmp_path):
    from nanfix.config.plan import PlanError, load_plan

    # The plan checks family names against the catalog itself: every family is a valid name...
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"families: [{', '.join(FAMILIES)}]\n")
    assert set(load_plan(str(plan))["families"]) == set(FAMILIES)
    plan.write_text("families: [lr, no_such_family]\n")  # ...and nothing else is
    with pytest.raises(PlanError, match="no_such_family"):
        load_plan(str(plan))
    assert set(FAMILIES) >= {"lr", "epsilon", "input_scaling", "target_scaling", "pairing",
                             "clipping", "init", "activation", "data", "stable_loss", "optimizer"}
    for family in FAMILIES.values():
        assert family.title and family.answers, family.name


def test_fixes_describe_themselves_and_leave_the_setup_alone():
    x, ids = blobs()
    large = keras.initializers.RandomNormal(stddev=1.0)
    setup = make_setup(mlp(20, 4, "linear", activation=None, kernel_initializer=large),
                       keras.optimizers.SGD(learning_rate=3.0), "mse", x, np.eye(4)[ids])
    candidates = fixes.candidates(setup, [])
    assert {fix.family for fix in candidates} >= {"lr", "clipping", "activation", "pairing", "optimizer"}
    for fix in candidates:
        assert fix.id and fix.title and fix.changes and fix.answers, fix
        assert fix.size >= 1 and fix.magnitude > 0
        changed = fix.apply(setup)
        assert changed is not setup and changed.label == fix.id
    assert setup.model_edits == [] and setup.optimizer_settings["learning_rate"] == pytest.approx(3.0)


def test_model_edits_are_skipped_for_a_subclassed_model():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(16)
            self.out = keras.layers.Dense(4)

        def call(self, x):
            return self.out(self.hidden(x))

    x, ids = blobs()
    model = Net()
    model(x[:2])
    setup = make_setup(model, keras.optimizers.SGD(3.0), "categorical_crossentropy", x, np.eye(4)[ids])
    families = {fix.family for fix in fixes.candidates(setup, [])}
    assert "lr" in families and not families & {"activation", "init"}


def test_plan_takes_the_findings_families_first_and_respects_the_settings():
    x, ids = pixels()
    setup = make_setup(mlp(64, 10), keras.optimizers.SGD(0.1), "categorical_crossentropy", x, np.eye(10)[ids])
    found = [finding("D104", ["input_scaling"]), finding("N703", ["lr", "clipping"])]
    plan = fixes.plan(setup, found, Settings())
    assert plan[0].family == "input_scaling"
    assert len({fix.family for fix in plan[:5]}) >= 3  # families interleave: a cap keeps variety
    capped = fixes.plan(setup, found, Settings(max_fixes=4, families=["lr", "clipping"]))
    assert len(capped) == 4 and {fix.family for fix in capped} == {"lr", "clipping"}
