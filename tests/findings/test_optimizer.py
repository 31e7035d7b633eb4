"""Tests for the O5xx and K601 rules (nanfix/findings/optimizer.py): learning rates outside the
usual range, and the Keras 2 spellings translated while the script ran.
"""

from __future__ import annotations

import keras
import pytest

from nanfix.capture.hooks import Capture
from nanfix.records import Severity

from .helpers import codes, diagnose, mlp, one_hot, only, scaled


def test_o501_sgd_learning_rate_3():
    found = diagnose(
        mlp(8, 10, "softmax"),
        scaled(),
        one_hot(),
        "categorical_crossentropy",
        keras.optimizers.SGD(learning_rate=3.0),
    )
    item = only(found, "O501")
    assert item.severity is Severity.WARNING
    assert item.evidence["optimizer"] == "SGD" and item.evidence["learning_rate"] == pytest.approx(
        3.0
    )
    assert item.evidence["side"] == "above" and item.evidence["usual_range"] == [1e-5, 1.0]


def test_o501_tiny_adam_learning_rate():
    item = only(
        diagnose(
            mlp(8, 10, "softmax"),
            scaled(),
            one_hot(),
            "categorical_crossentropy",
            keras.optimizers.Adam(learning_rate=1e-8),
        ),
        "O501",
    )
    assert item.evidence["side"] == "below"


def test_o501_schedule_is_judged_by_its_peak():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.5, decay_steps=100, decay_rate=0.5)
    item = only(
        diagnose(
            mlp(8, 10, "softmax"),
            scaled(),
            one_hot(),
            "categorical_crossentropy",
            keras.optimizers.Adam(learning_rate=schedule),
        ),
        "O501",
    )
    assert item.evidence["schedule"] == "ExponentialDecay"
    assert item.evidence["learning_rate"] == pytest.approx(0.5)


def test_o501_sees_through_loss_scaling_and_accepts_usual_rates():
    wrapped = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(learning_rate=5.0))
    item = only(
        diagnose(mlp(8, 10, "softmax"), scaled(), one_hot(), "categorical_crossentropy", wrapped),
        "O501",
    )
    assert item.evidence["optimizer"] == "SGD"
    usual = keras.optimizers.SGD(learning_rate=0.01)
    assert "O501" not in codes(
        diagnose(mlp(8, 10, "softmax"), scaled(), one_hot(), "categorical_crossentropy", usual)
    )


def test_k601_one_finding_per_legacy_spelling():
    model = mlp(8, 10, "softmax")
    capture = Capture(
        script="train.py",
        model=model,
        compile_args={},
        fit_args={},
        origins={"compile": "train.py:30", "optimizer": "train.py:29", "fit": "train.py:33"},
        legacy=[
            ("lr", "train.py:29"),
            ("lr", "train.py:29"),
            ("lr", "train.py:41"),
            ("fit_generator", "train.py:33"),
        ],
    )
    found = [
        f
        for f in diagnose(model, scaled(), one_hot(), "categorical_crossentropy", capture=capture)
        if f.code == "K601"
    ]
    by_name = {f.evidence["legacy"]: f for f in found}
    assert set(by_name) == {"lr", "fit_generator"}
    assert by_name["lr"].evidence["lines"] == ["train.py:29", "train.py:41"]
    assert by_name["lr"].where == "train.py:29" and "learning_rate=" in by_name["lr"].message
    assert by_name["fit_generator"].severity is Severity.INFO
    assert "nanfix ran your script by translating" in by_name["fit_generator"].message


def test_k601_silent_without_capture():
    assert "K601" not in codes(
        diagnose(mlp(8, 10, "softmax"), scaled(), one_hot(), "categorical_crossentropy")
    )
