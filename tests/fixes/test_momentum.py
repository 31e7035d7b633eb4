"""Tests for the momentum fix family (nanfix/fixes/momentum.py): it answers O504 with a
momentum below the limit the finding was judged by, and never combines with an optimizer swap.
Its cure is measured on its fixture, tests/fixtures/fixes/momentum.py (tests/fixes/test_fixtures.py).
"""

from __future__ import annotations

import keras
import numpy as np
from builders import blobs, make_setup

from nanfix.fixes import FAMILIES
from nanfix.records import Finding, Severity
from nanfix.sweep import combine

from .helpers import mlp


def o504(limit=1.0):
    return Finding(code="O504", title="O504", severity=Severity.ERROR, message="O504",
                   evidence={"momentum": 1.0, "limits": {"momentum": limit}})


def test_momentum_answers_o504_below_the_finding_s_limit():
    x, ids = blobs()
    setup = make_setup(mlp(20, 4), keras.optimizers.SGD(learning_rate=0.05, momentum=1.0),
                       "categorical_crossentropy", x, np.eye(4)[ids])
    (fix,) = FAMILIES["momentum"].fixes(setup, [o504()])
    assert fix.id == "momentum-0.9" and fix.answers == ("O504",)
    assert fix.changes == ("SGD(learning_rate=0.05, momentum=1.0) → SGD(learning_rate=0.05, momentum=0.9)",)
    assert fix.apply(setup).optimizer_settings["momentum"] == 0.9
    assert FAMILIES["momentum"].fixes(setup, []) == []  # nothing found, nothing to change
    # the user's limit reaches the fix through the finding: below 0.85, 0.9 is no cure
    assert FAMILIES["momentum"].fixes(setup, [o504(limit=0.85)]) == []
    # an Adam swap replaces the optimizer whose momentum it sets: the two never combine
    (adam,) = FAMILIES["optimizer"].fixes(setup, [])
    assert not combine.compatible([fix, adam])
    (lower,) = [f for f in FAMILIES["lr"].fixes(setup, [o504()]) if f.id == "lr-0.005"]
    assert combine.compatible([fix, lower])
