"""Seeds in one compiled step: a configuration's seeds trained side by side.

A probe's seeds are independent trainings of one configuration. Run one after the other,
each step of each seed is its own call into TensorFlow and its own host transfer; on a small
model that dispatch is most of the step's cost. A `Stack` holds one `Trainer` per seed (the
first on the captured model, the others on copies of it, every one with its own weights and
optimizer; the data tensors are shared) and one `tf.function` that runs all their steps and
returns every seed's measurement vector in one transfer.

Each seed keeps its own `SeedProbe` (`nanfix.probes.run`), fed its row of the stacked
result, so a stacked seed is judged, stopped and localised exactly as a seed run alone: the
same fresh weights (`Trainer.reset(seed)`), the same batches, the same monitors. A seed that
stopped is still stepped with the others (its row is not read) until every seed has stopped.

It is used where it pays (`Settings.stack_seeds`, `worth_stacking`), for the baseline's seeds
and for the seeds a candidate is verified on: a model whose step is mostly dispatch
(`probes.cost`), and not a script's own `train_step`, a subclassed model (no copy from its
config) or a resumed probe. Measured by `make bench` ("stacked step").
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import tensorflow as tf

from nanfix.capture.origins import remember
from nanfix.config import Settings
from nanfix.probes import cost
from nanfix.probes.build import build_trainer, copy_model
from nanfix.probes.run import Deadline, Progress, SeedProbe, probe
from nanfix.probes.setup import TrainSetup, rebuildable
from nanfix.probes.trainer import Trainer
from nanfix.records import Outcome, ProbeResult, SeedRun

# A step of at most this many floating-point operations is dispatch-bound on a CPU: stacking
# its seeds halves the cost of their steps (2-core reference: 3 single steps 1.9 ms, one
# stacked step 1.0 ms, for a 784-30-10 MLP at batch 10).
STACK_MAX_FLOPS = 2e7


class Stack:
    """One trainer per seed, stepped together by one compiled function."""

    def __init__(self, trainers: list[Trainer]):
        self.trainers = trainers
        shared = trainers[0]._tensors
        for trainer in trainers[1:]:
            trainer._tensors = shared  # one copy of the data for every seed
        self.step_fn = tf.function(self._steps, jit_compile=False, reduce_retracing=True)

    def _steps(self, x_all, y_all, weight_all, indices):
        return tf.stack([trainer._step(x_all, y_all, weight_all, indices[k])
                         for k, trainer in enumerate(self.trainers)])

    def step(self, indices: list[np.ndarray]) -> np.ndarray:
        """Every seed's step on its own batch: one row of measurements per seed."""
        x, y, weight = self.trainers[0]._tensors
        return self.step_fn(x, y, weight, tf.constant(np.stack(indices), dtype=tf.int32)).numpy()


def worth_stacking(setup: TrainSetup, trainer: Trainer, seeds: int, settings: Settings,
                   step_flops: float | None = None) -> bool:
    """Whether this configuration's seeds are stacked (see the module's docstring);
    `step_flops`: the step's cost when known, else read from the model (`probes.cost`)."""
    if not (settings.stack_seeds and seeds > 1 and not trainer.custom_step and not trainer.resumes
            and setup.draws is None and rebuildable(setup.model)):
        return False
    if step_flops is None:
        step_flops = cost.step_flops(trainer.model, setup.data.batch_size)
    return step_flops <= STACK_MAX_FLOPS


def build_stack(setup: TrainSetup, first: Trainer, seeds: int, eval_samples: int) -> Stack:
    """`first` and a trainer on a copy of its model for each further seed."""
    trainers = [first]
    for _ in range(seeds - 1):
        model = copy_model(setup)
        _keep_origins(first.model, model)
        trainers.append(build_trainer(setup, eval_samples, model=model))
    return Stack(trainers)


def _keep_origins(original: Any, copy: Any) -> None:
    """The copy's layers name the script's lines the original's do (for localisation)."""
    origins = {layer.name: getattr(layer, "_nanfix_origin", None) for layer in original.layers}
    for layer in copy.layers:
        if origins.get(layer.name) is not None:
            remember(layer, "_nanfix_origin", origins[layer.name])


def probe_stacked(stack: Stack, label: str, settings: Settings, deadline: Deadline,
                  seeds: list[int], steps: int, on_progress: Progress | None = None,
                  stop_on_explosion: bool = False) -> ProbeResult:
    """`run.probe` for a stack: every seed's run, as if each had trained alone."""
    started = time.perf_counter()
    probes = [SeedProbe(trainer, seed, steps, settings.thresholds, deadline, on_progress, label,
                        index, len(seeds), stop_on_explosion)
              for index, (trainer, seed) in enumerate(zip(stack.trainers, seeds, strict=True))]
    runs: dict[int, SeedRun] = {}
    for index, seed_probe in enumerate(probes):
        if deadline.passed():
            runs[index] = SeedRun(seed=seeds[index], outcome=Outcome.TIMED_OUT, steps_run=0,
                                  reason="the time limit ran out before this seed started")
            continue
        failed = seed_probe.begin()
        if failed is not None:
            runs[index] = failed
    active = [index for index in range(len(probes)) if index not in runs]
    batches = [trainer.batches(seed) for trainer, seed in zip(stack.trainers, seeds, strict=True)]
    step = 0
    for step in range(steps):
        if not active:
            break
        try:
            rows = stack.step([next(stream) for stream in batches])
        except Exception as error:  # noqa: BLE001 - e.g. a label outside the output's range
            for index in active:
                probes[index].crash(error)
                runs[index] = probes[index].finish(step)
            active = []
            break
        for index in list(active):
            if not probes[index].add(step, stack.trainers[index].unpack(rows[index])):
                runs[index] = probes[index].finish(step)
                active.remove(index)
    for index in active:
        runs[index] = probes[index].finish(step)
    return ProbeResult(label=label, runs=[runs[index] for index in range(len(probes))], steps=steps,
                       elapsed_s=time.perf_counter() - started)


def probe_seeds(setup: TrainSetup, trainer: Trainer, label: str, settings: Settings,
                deadline: Deadline, on_progress: Progress | None = None,
                seeds: list[int] | None = None, stop_on_explosion: bool = False) -> ProbeResult:
    """Probe `trainer`'s configuration on `seeds` (default: the settings' seeds): stacked
    where it pays (`worth_stacking`), else one seed after the other (`run.probe`)."""
    seeds = list(range(settings.seeds)) if seeds is None else list(seeds)
    if worth_stacking(setup, trainer, len(seeds), settings):
        try:
            stack = build_stack(setup, trainer, len(seeds), settings.eval_samples)
        except Exception:  # noqa: BLE001 - a model Keras cannot copy trains its seeds in turn
            stack = None
        if stack is not None:
            return probe_stacked(stack, label, settings, deadline, seeds, settings.steps,
                                 on_progress=on_progress, stop_on_explosion=stop_on_explosion)
    return probe(trainer, label, settings, deadline, on_progress=on_progress, seeds=seeds,
                 stop_on_explosion=stop_on_explosion)
