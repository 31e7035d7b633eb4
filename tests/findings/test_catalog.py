"""Tests for the catalog as a whole (nanfix/findings/catalog.py): every rule is registered once
with an explanation in its sections, in the module its code names, the healthy setups give no ERROR or WARNING at all, and
the seed setups and unusual models get the diagnoses of every rule module together.
Nothing is trained: pre-flight rules only look.
"""

from __future__ import annotations

import keras
import pytest
from keras import layers

import nanfix.findings as findings
from nanfix import fixes
from nanfix.findings.catalog import RULES, SECTIONS
from nanfix.records import Severity, Stage

from .helpers import RNG, class_ids, codes, diagnose, mlp, one_hot, only, scaled, serious

# Where each code group lives (the catalog's documented layout), and which modules read the
# script before training (pre-flight) and which the baseline probe.
MODULE_OF = {"D": "arrays", "L": "labels", "P": "pairing", "M": "model", "O": "optimizer",
             "K": "optimizer", "N": "numerics", "S": "stalls", "U": "units"}
PROBE_MODULES = {"numerics", "stalls", "units"}


# --- the catalog -----------------------------------------------------------------------------


def test_every_rule_is_registered_once_with_an_explanation_where_its_code_says():
    names = [entry.name for entry in RULES.values()]
    assert len(set(names)) == len(names)
    for code, entry in RULES.items():
        module = MODULE_OF[code[0]]
        assert entry.detect.__module__ == f"nanfix.findings.{module}", code
        probe = module in PROBE_MODULES or (module == "optimizer" and entry.measures_cause)
        assert entry.stage is (Stage.PROBE if probe else Stage.PREFLIGHT), code
        assert tuple(entry.explanation.sections) == SECTIONS, code
        assert "```python" in entry.explanation.sections["example"], code
        assert set(fixes.families_for(code)) <= set(fixes.FAMILIES), code
        assert findings.get(code.lower()) is entry


# --- healthy setups: the negative tests ------------------------------------------------------


HEALTHY = {
    "softmax + categorical + one-hot": lambda: (
        mlp(8, 10, "softmax"),
        one_hot(),
        "categorical_crossentropy",
    ),
    "softmax + sparse + ids": lambda: (
        mlp(8, 10, "softmax"),
        class_ids(),
        "sparse_categorical_crossentropy",
    ),
    "logits + sparse(from_logits)": lambda: (
        mlp(8, 10, None),
        class_ids(),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    ),
    "sigmoid + binary": lambda: (
        mlp(8, 1, "sigmoid"),
        RNG.integers(0, 2, (64, 1)).astype("float32"),
        "binary_crossentropy",
    ),
    "multi-label sigmoid + binary": lambda: (
        mlp(8, 4, "sigmoid"),
        RNG.integers(0, 2, (64, 4)).astype("float32"),
        keras.losses.BinaryCrossentropy(),
    ),
    "linear regression head": lambda: (
        mlp(8, 1, None),
        RNG.normal(3, 2, (64, 1)).astype("float32"),
        "mse",
    ),
    "sigmoid regression in 0..1": lambda: (
        mlp(8, 1, "sigmoid"),
        RNG.random((64, 1)).astype("float32"),
        "mse",
    ),
}


@pytest.mark.parametrize("name", list(HEALTHY))
def test_healthy_setup_has_no_warnings(name):
    model, y, loss = HEALTHY[name]()
    found = diagnose(model, scaled(), y, loss)
    assert serious(found) == {}


def test_healthy_cnn_on_scaled_images_is_quiet():
    x = RNG.random((32, 12, 12, 1)).astype("float32")
    model = keras.Sequential(
        [
            keras.Input((12, 12, 1)),
            layers.Conv2D(4, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )
    assert serious(diagnose(model, x, one_hot(32, 3), "categorical_crossentropy")) == {}


# --- the seeds, end to end -------------------------------------------------------------------


def test_seed_000_setup_gets_its_diagnoses():
    x = RNG.integers(0, 256, size=(200, 784)).astype("int64")
    x[:, :20] = 0
    model = keras.Sequential(
        [
            keras.Input((784,)),
            layers.Dense(784),
            layers.Dense(50, activation="relu"),
            layers.Dense(10, activation="sigmoid"),
        ]
    )
    found = diagnose(model, x, one_hot(200), "categorical_crossentropy", keras.optimizers.SGD(1e-4))
    assert {"D103", "D104", "M401", "P301"} <= codes(found)
    assert "O501" not in codes(found)


def test_seed_002_setup_gets_its_diagnoses():
    normal = keras.initializers.RandomNormal(stddev=1)
    model = keras.Sequential(
        [
            keras.Input((784,)),
            layers.Dense(30, kernel_initializer=normal, bias_initializer=normal),
            layers.Dense(10, kernel_initializer=normal, bias_initializer=normal),
        ]
    )
    x = RNG.random((64, 784)).astype("float32")
    found = diagnose(
        model, x, one_hot(), "mean_squared_error", keras.optimizers.SGD(learning_rate=3.0)
    )
    assert {"M401", "M402", "O501", "P305"} <= codes(found)
    assert only(found, "M401").severity is Severity.ERROR


# --- nests and unusual models ----------------------------------------------------------------


def test_multi_input_multi_output_models_are_judged_on_what_can_be_judged():
    first, second = keras.Input((8,)), keras.Input((3,))
    hidden = layers.Dense(16, activation="relu")(layers.Concatenate()([first, second]))
    classes = layers.Dense(10, activation="sigmoid", name="classes")(hidden)
    value = layers.Dense(1, name="value")(hidden)
    model = keras.Model([first, second], [classes, value])
    x = [RNG.normal(size=(64, 8)) * 300, scaled(64, 3)]
    y = [one_hot(), RNG.normal(size=(64, 1))]
    found = diagnose(model, x, y, ["categorical_crossentropy", "mse"])
    assert codes(found) == {"D104"}  # the first input; no pairing verdict on two outputs
