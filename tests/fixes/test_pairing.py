"""Tests for the pairing fix family (nanfix/fixes/pairing.py): the output activation and the
loss made to fit each other, and measured to cure softmax on a single unit.
"""

from __future__ import annotations

import keras
import numpy as np
from builders import blobs, make_setup

from nanfix.probes.build import build_model

from .helpers import activations, by_id, finding, measure, mlp, proposed


def test_pairing_softmax_for_sigmoid_under_categorical_crossentropy():
    x, ids = blobs(classes=5)
    setup = make_setup(mlp(20, 5, "sigmoid"), keras.optimizers.SGD(0.1), "categorical_crossentropy",
                       x, np.eye(5)[ids])
    found = proposed(setup, "pairing", [finding("P301", ["pairing"])])
    softmax = by_id(found, "output-softmax")
    changed = softmax.apply(setup)
    assert activations(build_model(changed))[-1] == "softmax"
    assert changed.task.output_activation == "softmax"
    assert softmax.changes[0].endswith("activation sigmoid → softmax")
    logits = by_id(found, "output-logits").apply(setup)
    assert activations(build_model(logits))[-1] == "linear"
    assert logits.loss.get_config()["from_logits"] is True and logits.task.from_logits


def test_pairing_switches_between_sparse_and_one_hot_losses():
    x, ids = blobs(classes=4)
    ids_setup = make_setup(mlp(20, 4), keras.optimizers.SGD(0.1), "categorical_crossentropy", x, ids)
    (fix,) = [f for f in proposed(ids_setup, "pairing") if f.id == "loss-sparse"]
    assert fix.apply(ids_setup).loss == "sparse_categorical_crossentropy"
    onehot_setup = make_setup(mlp(20, 4), keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy",
                              x, np.eye(4)[ids])
    assert by_id(proposed(onehot_setup, "pairing"), "loss-categorical").apply(onehot_setup).loss == \
        "categorical_crossentropy"


def test_pairing_sigmoid_for_a_single_softmax_unit():
    x, ids = blobs(classes=2)
    setup = make_setup(mlp(20, 1, "softmax"), keras.optimizers.SGD(0.1), "binary_crossentropy",
                       x, ids.astype("float32"))
    assert [fix.id for fix in proposed(setup, "pairing")] == ["output-sigmoid", "output-logits"]


def test_pairing_cures_softmax_on_a_single_unit():
    x, ids = blobs(classes=2)
    setup = make_setup(mlp(20, 1, "softmax", hidden=16), keras.optimizers.SGD(0.1),
                       "binary_crossentropy", x, ids.astype("float32").reshape(-1, 1))
    baseline, _, results = measure(setup, ["pairing", "lr"], steps=150)
    assert baseline.seeds_ok == 0
    assert results[0].family == "pairing" and results[0].outcome == "cures"
    assert results[0].id == "output-sigmoid"
    assert all(fix.outcome != "cures" for fix in results if fix.family == "lr")
