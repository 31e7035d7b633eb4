"""Shared by the fix-family tests in tests/fixes: small models, the proposed fixes of one family,
and `measure`, which diagnoses a setup and sweeps the fixes of the families given.

The setups themselves (data, `make_setup`, `diagnose`) are tests/builders.py's; conftest.py
has installed the capture hooks before any of these builds a model.
"""

from __future__ import annotations

import keras
from builders import diagnose

from nanfix.config import Settings
from nanfix.fixes.catalog import FAMILIES
from nanfix.probes.run import Deadline
from nanfix.probes.setup import layer_configs, model_config
from nanfix.records import Finding, Severity
from nanfix.sweep import search as sweep


def mlp(inputs, outputs, output_activation="softmax", hidden=32, activation="relu", **dense):
    return keras.Sequential([keras.Input((inputs,)),
                             keras.layers.Dense(hidden, activation=activation, **dense),
                             keras.layers.Dense(outputs, activation=output_activation, **dense)])


def measure(setup, families, steps=200, seeds=3):
    settings = Settings(seeds=seeds, steps=steps, families=families)
    baseline, found = diagnose(setup, settings)
    results = sweep.find_fixes(setup, baseline, found, settings, Deadline(120), None)
    return baseline, found, results


def by_id(fix_list, fix_id):
    matches = [fix for fix in fix_list if fix.id == fix_id]
    assert matches, f"{fix_id} not among {[fix.id for fix in fix_list]}"
    return matches[0]


def proposed(setup, family, found=(), grid=None):
    return FAMILIES[family].fixes(setup, list(found), grid)


def finding(code, families=(), severity=Severity.ERROR):
    return Finding(code=code, title=code, severity=severity, message=code, fix_families=list(families))


def book_network():
    """Seed 002: 784-30-10, no activations, N(0, 1) weights and biases."""
    init = keras.initializers.RandomNormal(stddev=1.0)
    return keras.Sequential([keras.Input((784,)),
                             keras.layers.Dense(30, kernel_initializer=init, bias_initializer=init),
                             keras.layers.Dense(10, kernel_initializer=init, bias_initializer=init)])


def activations(model):
    return [layer["config"].get("activation") for layer in layer_configs(model_config(model))]
