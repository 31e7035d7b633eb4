"""Tests for the O5xx and K601 rules (nanfix/findings/optimizer.py): learning rates outside the
usual range, and the Keras 2 spellings translated while the script ran.
"""

from __future__ import annotations

import keras
import pytest

import nanfix.capture.task as task_module
import nanfix.findings as findings
from nanfix.capture.hooks import Capture
from nanfix.capture.training_data import TrainingData
from nanfix.config import Settings
from nanfix.findings.catalog import Context
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


def test_o504_a_momentum_of_one_never_forgets_and_keras_refuses_more_for_sgd():
    def found(optimizer, settings=None):
        model = mlp(8, 10, "softmax")
        model.compile(optimizer=optimizer, loss="categorical_crossentropy")
        y = one_hot()
        context = Context(model=model, optimizer=model.optimizer, loss="categorical_crossentropy",
                          task=task_module.infer(model, "categorical_crossentropy", y),
                          data=TrainingData(x=scaled(), y=y, sample_weight=None, batch_size=32),
                          settings=settings or Settings())
        return findings.run("preflight", context)

    item = only(found(keras.optimizers.SGD(learning_rate=0.01, momentum=1.0)), "O504")
    assert item.severity is Severity.ERROR and item.evidence["momentum"] == 1.0
    assert item.evidence["limits"] == {"momentum": 1.0}  # what a fix answering it reads
    assert "O504" not in codes(found(keras.optimizers.SGD(learning_rate=0.01, momentum=0.99)))
    assert "O504" in codes(found(keras.optimizers.RMSprop(momentum=1.5)))  # RMSprop takes it
    with pytest.raises(ValueError):  # ...SGD does not: Keras refuses it when the script runs
        keras.optimizers.SGD(learning_rate=0.01, momentum=1.5)
    # the user's limit, by the rule's name in [tool.nanfix.rules], is the one it judges by
    strict = Settings(rules={"O504": {"momentum": 0.95}})
    item = only(found(keras.optimizers.SGD(learning_rate=0.01, momentum=0.97), strict), "O504")
    assert item.evidence["limits"] == {"momentum": 0.95}
