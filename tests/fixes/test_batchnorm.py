"""Tests for the batchnorm fix family (nanfix/fixes/batchnorm.py): it is proposed only where
the activations' scale drifts in a deep Sequential model, it is measured to cure a deep ReLU
stack with huge initial weights (and ranked above clipping, which only hides the
explosion), and its diff inserts the layers in the user's own style and trains.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import keras
import numpy as np
from builders import blobs, diagnose, make_setup

from nanfix.capture.hooks import Capture
from nanfix.capture.origins import remember
from nanfix.config import Settings
from nanfix.fixes.catalog import FAMILIES, families_for
from nanfix.fixes.source import apply as source_apply
from nanfix.fixes.source import diff as source_diff
from nanfix.probes.build import build_model
from nanfix.probes.run import Deadline
from nanfix.records import Finding, FixOutcome, Severity
from nanfix.sweep import search as sweep


def deep_relu(depth=6, stddev=2.0, units=32):
    """Six ReLU layers with N(0, 2) weights: the activations grow ~10x a layer and overflow."""
    large = keras.initializers.RandomNormal(stddev=stddev)
    hidden = [keras.layers.Dense(units, activation="relu", kernel_initializer=large) for _ in range(depth)]
    return keras.Sequential([keras.Input((20,)), *hidden, keras.layers.Dense(4, activation="softmax")])


def drift(code="M402"):
    return Finding(code=code, title=code, severity=Severity.ERROR, message=code)


def test_batchnorm_answers_scale_drift_and_is_proposed_only_for_it():
    assert "batchnorm" in families_for("M402") and "batchnorm" in families_for("U902")
    x, ids = blobs()
    setup = make_setup(deep_relu(), keras.optimizers.SGD(0.05), "categorical_crossentropy", x, np.eye(4)[ids])
    assert FAMILIES["batchnorm"].fixes(setup, []) == []  # nothing says the scale drifts
    assert FAMILIES["batchnorm"].fixes(setup, [drift(), drift("D104")]) == []  # scale the inputs
    (fix,) = FAMILIES["batchnorm"].fixes(setup, [drift()])
    assert fix.id == "batchnorm-hidden" and len(fix.changes) == 6
    assert "BatchNormalization before its relu activation" in fix.changes[0]
    rebuilt = build_model(fix.apply(setup))
    kinds = [type(layer).__name__ for layer in rebuilt.layers]
    assert kinds[:3] == ["Dense", "BatchNormalization", "Activation"] and kinds[-1] == "Dense"
    assert rebuilt.layers[0].get_config()["activation"] == "linear"
    assert kinds.count("BatchNormalization") == 6 and rebuilt.layers[-1].get_config()["activation"] == "softmax"
    # already normalised, too shallow, or not Sequential: not proposed
    shallow = make_setup(deep_relu(depth=1), keras.optimizers.SGD(0.05), "categorical_crossentropy",
                         x, np.eye(4)[ids])
    assert FAMILIES["batchnorm"].fixes(shallow, [drift()]) == []
    inputs = keras.Input((20,))
    hidden = keras.layers.Dense(8, activation="relu")(keras.layers.Dense(8, activation="relu")(inputs))
    functional = keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(hidden))
    graph = make_setup(functional, keras.optimizers.SGD(0.05), "categorical_crossentropy", x, np.eye(4)[ids])
    assert FAMILIES["batchnorm"].fixes(graph, [drift()]) == []


def test_batchnorm_cures_a_deep_relu_stack_with_huge_weights_and_ranks_above_clipping():
    x, ids = blobs()
    setup = make_setup(deep_relu(), keras.optimizers.SGD(0.05), "categorical_crossentropy", x, np.eye(4)[ids])
    settings = Settings(seeds=3, steps=150, families=["batchnorm", "clipping"])
    baseline, found = diagnose(setup, settings)
    assert baseline.seeds_ok == 0 and "M402" in {f.code for f in found}
    results = sweep.find_fixes(setup, baseline, found, settings, Deadline(180), None)
    best = results[0]
    assert best.id == "batchnorm-hidden" and best.outcome is FixOutcome.CURES and best.rank == 1
    assert best.seeds_ok == best.seeds == 3
    assert best.probe.median("val_accuracy") > 0.9


SCRIPT = '''\
import os

import keras
import numpy as np

EPOCHS = int(os.environ.get("EPOCHS", "10"))

rng = np.random.default_rng(0)
centers = rng.normal(0, 2, size=(4, 20))
labels = rng.integers(0, 4, 512)
x_train = (centers[labels] + rng.normal(0, 1, size=(512, 20))).astype("float32")
y_train = keras.utils.to_categorical(labels, 4)
big = keras.initializers.RandomNormal(stddev=2.0)

model = keras.Sequential([
    keras.Input((20,)),
    keras.layers.Dense(32, activation="relu", kernel_initializer=big),
    keras.layers.Dense(32, activation="relu", kernel_initializer=big),
])
model.add(keras.layers.Dense(32, kernel_initializer=big))
model.add(keras.layers.Dense(4, activation="softmax"))
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="categorical_crossentropy")
history = model.fit(x_train, y_train, batch_size=32, epochs=EPOCHS, verbose=0)
print("final accuracy:", float(np.mean(np.argmax(model.predict(x_train, verbose=0), 1) == labels)))
'''


def test_the_batchnorm_diff_inserts_layers_in_the_users_style_and_trains(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    namespace: dict = {}
    exec(compile(SCRIPT[:SCRIPT.index("model.compile(")], str(script), "exec"), namespace)  # noqa: S102
    model = namespace["model"]
    lines = SCRIPT.splitlines()
    dense_lines = [i for i, line in enumerate(lines, start=1) if "layers.Dense(" in line]
    for layer, line in zip(model.layers, dense_lines, strict=True):
        remember(layer, "_nanfix_origin", f"train.py:{line}")
    fit_line = next(number for number, line in enumerate(lines, start=1) if "model.fit(" in line)
    captured = Capture(script=str(script), model=model, compile_args={}, fit_args={},
                       origins={"fit": f"train.py:{fit_line}"})
    setup = make_setup(model, keras.optimizers.SGD(0.05), "categorical_crossentropy",
                       namespace["x_train"], namespace["y_train"])
    (fix,) = FAMILIES["batchnorm"].fixes(setup, [drift()])
    diff, snippet = source_diff.render(list(fix.edits), fix.id, setup, captured)
    assert diff is not None, snippet
    assert '+    keras.layers.Dense(32, activation=None, kernel_initializer=big),\n' in diff
    assert "+    keras.layers.BatchNormalization(),\n" in diff
    assert "+    keras.layers.Activation('relu'),\n" in diff or '+    keras.layers.Activation("relu"),\n' in diff
    assert "+model.add(keras.layers.BatchNormalization())\n" in diff  # the linear one: no Activation
    new_source = source_apply.apply_diff(SCRIPT, diff)
    ast.parse(new_source)
    assert new_source.count("BatchNormalization()") == 3
    patched = source_apply.apply_patch(str(script), diff)
    assert script.read_text() == SCRIPT
    process = subprocess.run([sys.executable, patched], env=dict(os.environ, EPOCHS="10"),
                             capture_output=True, text=True, timeout=180, cwd=str(tmp_path))
    assert process.returncode == 0, process.stderr[-3000:]
    assert float(process.stdout.rsplit("final accuracy:", 1)[1]) > 0.9
