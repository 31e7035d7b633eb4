"""Tests for the data fix family (nanfix/fixes/data_repair.py): non-finite rows dropped or imputed,
class ids counted from zero, and a data fix as the only cure for NaN rows.
"""

from __future__ import annotations

import keras
import numpy as np
from builders import blobs, make_setup

from .helpers import by_id, finding, measure, mlp, proposed


def test_data_fixes_drop_or_impute_nonfinite_rows():
    x, ids = blobs()
    x[::50, 2] = np.nan
    x[7, 0] = np.inf
    setup = make_setup(mlp(20, 4), keras.optimizers.SGD(0.1), "categorical_crossentropy", x, np.eye(4)[ids])
    found = proposed(setup, "data", [finding("D101", ["data"])])
    assert all(fix.data_fix for fix in found)
    dropped = by_id(found, "data-drop-nonfinite").apply(setup).data
    assert np.isfinite(dropped.x).all() and len(dropped.x) == len(dropped.y) == 512 - 12
    imputed = by_id(found, "data-impute-mean").apply(setup).data
    assert np.isfinite(imputed.x).all() and len(imputed.x) == 512
    assert "The data must change" in found[0].note


def test_data_fix_counts_class_ids_from_zero():
    x, ids = blobs(classes=4)
    setup = make_setup(mlp(20, 4), keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", x, ids + 1)
    (fix,) = proposed(setup, "data", [finding("L202", ["data"])])
    assert fix.id == "labels-from-zero" and fix.apply(setup).data.y.max() == 3


def test_data_fix_is_the_only_cure_for_nan_rows():
    x, ids = blobs()
    x[::40, 3] = np.nan
    setup = make_setup(mlp(20, 4), keras.optimizers.SGD(0.1), "categorical_crossentropy", x, np.eye(4)[ids])
    baseline, found, results = measure(setup, ["data", "lr", "clipping", "input_scaling"], steps=150)
    assert baseline.seeds_ok == 0
    assert results[0].data_fix and results[0].outcome == "cures" and results[0].family == "data"
    assert "The data must change" in results[0].note
    for fix in results:
        if not fix.data_fix:
            assert fix.outcome != "cures", fix.id
            assert "only a data fix can cure" in fix.note
