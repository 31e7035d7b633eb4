"""Small training setups shared by tests/fixes, tests/test_sweep.py, tests/test_stack.py and
tests/scenarios/test_real_faults.py.

Import it after `capture.install_hooks(...)`, as those files (and tests/fixes/conftest.py) do:
the hooks must be in place before a model is built, so every variable remembers its
initializer (per-seed redraws).
"""

from __future__ import annotations

import numpy as np

import nanfix.findings as findings_catalog
from nanfix import fixes
from nanfix.capture import task as task_module
from nanfix.capture.training_data import TrainingData
from nanfix.findings.catalog import Context
from nanfix.probes.build import build_trainer
from nanfix.probes.run import Deadline, probe
from nanfix.probes.setup import from_capture


def blobs(n=512, features=20, classes=4, seed=0):
    """Gaussian clusters: easy to learn at a sane learning rate."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 2, size=(classes, features))
    ids = rng.integers(0, classes, n)
    return (centers[ids] + rng.normal(0, 1, size=(n, features))).astype("float32"), ids


def pixels(n=512, features=64, classes=10, seed=0, noise=70.0):
    """Raw 0..255 'images': class prototypes plus noise, rounded like pixel values."""
    rng = np.random.default_rng(seed)
    prototypes = rng.uniform(0, 255, size=(classes, features))
    ids = rng.integers(0, classes, n)
    x = np.clip(prototypes[ids] + rng.normal(0, noise, size=(n, features)), 0, 255).round()
    return x.astype("float32"), ids


def make_setup(model, optimizer, loss, x, y, batch_size=32, x_val=None, y_val=None):
    """A compiled model, its data and the inferred task, as the capture would give them."""
    model.compile(optimizer=optimizer, loss=loss)
    data = TrainingData(x=x, y=y, sample_weight=None, batch_size=batch_size, x_val=x_val, y_val=y_val)
    task = task_module.infer(model, loss, y)
    return from_capture(model, model.optimizer, loss, data, task)


def diagnose(setup, settings):
    """The baseline probe and every finding (pre-flight and probe), as the session makes them."""
    context = Context(model=setup.model, optimizer=setup.model.optimizer, loss=setup.loss,
                      task=setup.task, data=setup.data, settings=settings)
    found = findings_catalog.run("preflight", context)
    baseline = probe(build_trainer(setup), "baseline", settings, Deadline(None))
    context.baseline = baseline
    return baseline, fixes.link(findings_catalog.ordered(found + findings_catalog.run("probe", context)))
