"""Tests for nanfix/fixes/task_change.py: a fix keeps the task. Rows invalid on their own and a
few stray ones may go; a class held in numbers, or much of the data, may not, so the plan never
proposes such a fix (and the assessment never calls one a cure).
"""

from __future__ import annotations

import keras
import numpy as np
from builders import blobs, make_setup

from nanfix import fixes
from nanfix.config import Settings, Thresholds
from nanfix.fixes.task_change import changes_task, class_counts

from .helpers import finding, mlp


def test_dropping_classes_or_much_of_the_data_changes_the_task():
    ids = np.repeat(np.arange(10), 100)
    limits = Thresholds()
    assert changes_task(ids, ids[ids < 2], 0, limits).startswith("it drops 800 of 1000 training rows")
    assert changes_task(ids, ids[ids != 3], 0, limits) == "it drops 100 of 1000 training rows (10%) " \
                                                         "and 1 of the 10 classes"
    assert changes_task(ids, ids[4:], 0, limits) is None  # four stray rows of 1000
    assert changes_task(ids, ids[40:], 40, limits) is None  # rows invalid on their own (NaN)
    assert changes_task(ids, ids[40:], 0, Thresholds(repair_row_share=0.05)) is None
    assert class_counts(np.eye(3)[[0, 1, 1]]) == {0.0: 1, 1.0: 2}
    assert class_counts(np.array([0.5, 1.5])) is None  # not class ids


def test_the_plan_keeps_out_a_label_drop_that_would_remove_classes():
    x, ids = blobs(classes=10)
    setup = make_setup(mlp(20, 1, "sigmoid"), keras.optimizers.Adam(), "binary_crossentropy", x, ids)
    proposed = fixes.FAMILIES["data"].fixes(setup, [])
    assert "labels-drop-out-of-range" in {fix.id for fix in proposed}  # the family would offer it...
    planned = {fix.id for fix in fixes.plan(setup, [finding("L204")], Settings())}
    assert "labels-drop-out-of-range" not in planned and "head-10" in planned  # ...the plan does not
