"""Seeds in one compiled step (`nanfix.probes.stack`): every seed judged as if it trained alone.

Each configuration is probed twice, seed after seed and stacked; the per-seed outcomes, the
steps run, where the first non-finite value appeared (step, layer, the script's line) and the
losses must be the ones the seeds give alone.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nanfix.capture import hooks as capture  # noqa: E402

capture.install_hooks(__file__)

from builders import blobs, make_setup  # noqa: E402

from nanfix.capture.origins import remember  # noqa: E402
from nanfix.config import Settings  # noqa: E402
from nanfix.probes import stack as stacking  # noqa: E402
from nanfix.probes.build import build_trainer  # noqa: E402
from nanfix.probes.run import Deadline, probe  # noqa: E402


def mlp(rate: float):
    x, ids = blobs(n=480)
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(4, activation="softmax")])
    for line, layer in enumerate(model.layers, start=7):
        remember(layer, "_nanfix_origin", f"train.py:{line}")
    return make_setup(model, keras.optimizers.SGD(learning_rate=rate), "categorical_crossentropy",
                      x, np.eye(4)[ids])


def both(setup, settings):
    alone = probe(build_trainer(setup), "alone", settings, Deadline(None), seeds=[0, 1, 2])
    stack = stacking.build_stack(setup, build_trainer(setup), 3, settings.eval_samples)
    together = stacking.probe_stacked(stack, "stacked", settings, Deadline(None), [0, 1, 2], settings.steps)
    return alone, together


def summary(run):
    where = run.first_nonfinite
    return (run.seed, run.outcome, run.steps_run, run.stall,
            None if where is None else (where.step, where.kind, where.layer, where.origin))


@pytest.mark.parametrize("rate", [0.5, 50.0], ids=["learns", "diverges"])
def test_stacked_seeds_end_as_each_seed_alone(rate):
    setup = mlp(rate)
    settings = Settings(seeds=3, steps=120, stack_seeds=True)
    alone, together = both(setup, settings)
    assert [summary(run) for run in together.runs] == [summary(run) for run in alone.runs]
    for mine, theirs in zip(together.runs, alone.runs, strict=True):
        finite = [(a, b) for a, b in zip(mine.loss, theirs.loss, strict=True) if a is not None and b is not None]
        assert finite and np.allclose([a for a, _ in finite], [b for _, b in finite], rtol=1e-4, atol=1e-6)
    if rate > 1:  # the divergence is localised on every seed, to the script's line
        assert all(run.outcome.value == "diverged" for run in together.runs)
        assert any(run.first_nonfinite is not None and run.first_nonfinite.origin for run in together.runs)
    else:
        assert all(run.outcome.value == "healthy" for run in together.runs)


def test_stacking_is_chosen_only_where_it_pays():
    setup = mlp(0.5)
    trainer = build_trainer(setup)
    on = Settings(seeds=3, stack_seeds=True)
    assert stacking.worth_stacking(setup, trainer, 3, on, step_flops=1e5)
    assert not stacking.worth_stacking(setup, trainer, 3, on, step_flops=stacking.STACK_MAX_FLOPS * 2)
    assert not stacking.worth_stacking(setup, trainer, 1, on, step_flops=1e5)
    assert not stacking.worth_stacking(setup, trainer, 3, Settings(seeds=3), step_flops=1e5)
