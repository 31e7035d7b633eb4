"""Shared by the pre-flight rule tests in tests/findings: tiny real Keras models, small NumPy
data, and `diagnose`, which runs every pre-flight rule as the session does. Nothing is trained.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

import nanfix.capture.task as task_module
import nanfix.findings as findings
from nanfix import fixes
from nanfix.capture.training_data import TrainingData
from nanfix.config import Settings
from nanfix.findings.catalog import Context
from nanfix.records import Severity

RNG = np.random.default_rng(0)


def diagnose(model, x, y, loss, optimizer="adam", capture=None, **compile_args):
    """Compile, build the Context as the session does, run every pre-flight rule."""
    model.compile(optimizer=optimizer, loss=loss, **compile_args)
    context = Context(
        model=model,
        optimizer=model.optimizer,
        loss=loss,
        task=task_module.infer(model, loss, y),
        data=TrainingData(x=x, y=y, sample_weight=None, batch_size=32),
        settings=Settings(),
        capture=capture,
    )
    found = fixes.link(findings.run("preflight", context))  # as the session does
    broken = [f.message for f in found if f.code == "X000"]
    assert not broken, broken
    return found


def codes(found, severities=(Severity.ERROR, Severity.WARNING, Severity.INFO)):
    return {f.code for f in found if f.severity in severities}


def only(found, code):
    matches = [f for f in found if f.code == code]
    assert len(matches) == 1, (code, [(f.code, f.message) for f in found])
    return matches[0]


def serious(found):
    return {f.code: f.message for f in found if f.severity in (Severity.ERROR, Severity.WARNING)}


def mlp(inputs, outputs, activation, hidden_activation="relu", **output_args):
    return keras.Sequential(
        [
            keras.Input((inputs,)),
            layers.Dense(16, activation=hidden_activation),
            layers.Dense(outputs, activation=activation, **output_args),
        ]
    )


def scaled(rows=64, columns=8):
    return RNG.normal(size=(rows, columns)).astype("float32")


def class_ids(rows=64, classes=10):
    ids = RNG.integers(0, classes, rows)
    ids[:classes] = np.arange(classes)  # every class present
    return ids


def one_hot(rows=64, classes=10):
    return np.eye(classes, dtype="float32")[class_ids(rows, classes)]
