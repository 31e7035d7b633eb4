"""The Python API: `nanfix.probe(model, x, y)` on a compiled model in memory, isolated in a
worker like the CLI, returning a Report that renders in Jupyter and in a terminal."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import nanfix

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "recipes" / "_data"))
from make_data import load_mnist_like  # noqa: E402

# its fixtures probe once (session scope: a module fixture would be set up again whenever
# xdist runs another module's test in between) and one xdist worker runs the whole module
pytestmark = pytest.mark.xdist_group("test_api")


def seed002_network() -> keras.Model:
    """Seed 002's 784-30-10 network, built in memory: linear layers, N(0, 1) weights, MSE, SGD 3.0."""
    normal = keras.initializers.RandomNormal(stddev=1)
    model = keras.Sequential([keras.Input((784,)),
                              keras.layers.Dense(30, kernel_initializer=normal, bias_initializer=normal),
                              keras.layers.Dense(10, kernel_initializer=normal, bias_initializer=normal)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=3.0), loss="mean_squared_error",
                  metrics=["accuracy"])
    return model


@pytest.fixture(scope="session")
def seed002():
    (x, labels), _ = load_mnist_like()
    x = x.reshape(len(x), 784).astype("float32") / 255
    model = seed002_network()
    before = [w.copy() for w in model.get_weights()]
    report = nanfix.probe(model, x, keras.utils.to_categorical(labels, 10), batch_size=10, epochs=10,
                          seeds=2, steps=100, fixes=False)
    return report, model, before


def test_seed002_in_memory_diverges(seed002):
    report, model, _ = seed002
    assert report.verdict == "diverges"
    assert report.to_dict()["verdict"] == "diverges" and report.exit_code == 1
    assert {"N701", "M401"} <= {finding["code"] for finding in report.findings}
    # named after the model (Keras numbers a process's models: sequential, sequential_1, ...)
    assert report.fixes == [] and report.script == f"{model.name} (in memory)"
    assert model.name.startswith("sequential")


def test_the_report_renders_for_jupyter_and_the_terminal(seed002):
    report, _, _ = seed002
    html = report._repr_html_()
    assert "<html" in html.lower() and "DIVERGES" in html.upper()
    assert "Verdict: DIVERGES" in str(report)
    assert repr(report).startswith("<nanfix Report: diverges")
    # no line of the generated entry is presented as the user's
    shown = json.dumps({k: v for k, v in report.to_dict().items() if k != "script_output"})
    assert "nanfix_model_in_memory" not in shown


def test_the_user_s_model_is_left_as_it_was(seed002):
    _, model, before = seed002
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def test_a_dataset_is_probed_like_fit_would_read_it():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 600)
    x = (np.eye(3)[labels] * 4 + rng.normal(0, 0.5, (600, 3))).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices((x, labels)).batch(32)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    report = nanfix.check(model, dataset, epochs=5, seeds=2)
    assert report.verdict == "healthy" and report.exit_code == 0
    assert report.capture["fit_steps"] == 19 * 5 and report.settings["steps"] == 100


def test_a_model_that_cannot_be_probed_is_a_clear_error():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="compiled model"):
        nanfix.probe(model, np.zeros((8, 3)), np.zeros(8))
    with pytest.raises(ValueError, match="keras.Model"):
        nanfix.probe("train.py")
