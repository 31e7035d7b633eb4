"""A fix on its way through the sweep: its setup, its runs so far, its costs, and how its
seeds are probed (building or reusing its trainer; a candidate that cannot train is a
measured failure, never a crash of the sweep).
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nanfix.capture.training_data import leaves
from nanfix.config import Settings, Thresholds
from nanfix.fixes.catalog import Fix
from nanfix.probes.build import build_trainer
from nanfix.probes.judge import accuracy_learned
from nanfix.probes.run import Deadline
from nanfix.probes.setup import TrainSetup
from nanfix.probes.stack import probe_seeds
from nanfix.records import Outcome, ProbeResult, SeedRun

KEEP_TRAINERS_BYTES = 256 * 2**20  # survivors keep their compiled trainer up to this much data


@dataclass
class Candidate:
    """A fix on its way through the sweep: its setup, its runs so far, its costs."""

    fix: Fix
    base: TrainSetup | None = None  # the setup the fix applies to
    setup: TrainSetup | None = None  # the fixed setup, made on first use
    runs: list[SeedRun] = field(default_factory=list)
    build_s: float = 0.0  # building trainers (model rebuild, optimizer, data tensors)
    probe_s: float = 0.0  # probing, the first step's trace included
    error: str = ""
    trainer: Any = None
    halted: bool = False  # healthy so far, but others did better: not probed on every seed
    outranked: bool = False  # ... because a cure confirmed on every seed ranks above it

    @property
    def healthy(self) -> bool:
        return bool(self.runs) and all(run.ok for run in self.runs)


def cured(candidates: list[Candidate], seeds: int) -> list[Candidate]:
    """The candidates healthy on every one of `seeds` seeds."""
    return [c for c in candidates if c.healthy and len(c.runs) == seeds]


def nbytes(setup: TrainSetup) -> int:
    data = setup.data
    total = 0
    for nest in (data.x, data.y, data.x_val, data.y_val):
        if nest is not None:
            total += sum(np.asarray(leaf).nbytes for leaf in leaves(nest))
    return total


@contextlib.contextmanager
def quiet_retracing():
    """Every candidate traces its own step; TensorFlow's "retracing" warning is expected here."""
    import tensorflow as tf

    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        yield
    finally:
        logger.setLevel(level)


def run_seeds(candidate: Candidate, seeds: list[int], settings: Settings, deadline: Deadline,
               keep: bool) -> None:
    """Probe `candidate` on `seeds`, building (or reusing) its trainer; never raises."""
    with quiet_retracing():
        _probe_seeds(candidate, seeds, settings, deadline, keep)


def _probe_seeds(candidate: Candidate, seeds: list[int], settings: Settings, deadline: Deadline,
                 keep: bool) -> None:
    try:
        if candidate.setup is None:
            candidate.setup = candidate.fix.apply(candidate.base)
        started = time.perf_counter()
        trainer = candidate.trainer
        if trainer is None:
            trainer = build_trainer(candidate.setup, settings.eval_samples)
        else:
            # candidates without a model edit share the captured model, and each compiled it
            # since; give it back this candidate's optimizer and loss before training again
            trainer.model.compile(optimizer=trainer.optimizer, loss=candidate.setup.loss,
                                  loss_weights=candidate.setup.loss_weights, jit_compile=False)
        candidate.build_s += time.perf_counter() - started
        result = probe_seeds(candidate.setup, trainer, candidate.fix.id, settings, deadline,
                             seeds=seeds, stop_on_explosion=True)
        candidate.probe_s += result.elapsed_s
        candidate.runs += result.runs
        candidate.trainer = trainer if keep else None
    except Exception as error:  # noqa: BLE001 - a candidate that cannot train is a measured failure
        candidate.trainer = None
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        crash_missing(candidate, seeds, f"{type(error).__name__}: {message}"[:300])


def crash_missing(candidate: Candidate, seeds: list[int], error: str) -> None:
    """The candidate could not train (`error` says why): each of `seeds` it has no run for
    becomes a crashed run, a measured failure."""
    candidate.error = error
    for seed in seeds:
        if all(run.seed != seed for run in candidate.runs):
            candidate.runs.append(SeedRun(seed=seed, outcome=Outcome.CRASHED, steps_run=0,
                                          reason=f"training raised {error}"))


def seed_order(baseline: ProbeResult | None, settings: Settings) -> list[int]:
    """The baseline's seeds, the ones it failed first: they tell candidates apart soonest."""
    seeds = [run.seed for run in baseline.runs] if baseline and baseline.runs else list(range(settings.seeds))
    failed = [run.seed for run in (baseline.runs if baseline else []) if not run.ok]
    return failed + [seed for seed in seeds if seed not in failed]


def promising(candidate: Candidate, task, thresholds: Thresholds) -> bool:
    """Worth more seeds although not healthy: finite, its loss clearly fell, and a classifier
    got part of the way (`promising_accuracy_gain`) to the accuracy that counts as learning."""
    run = candidate.runs[0] if candidate.runs else None
    if run is None or run.outcome is not Outcome.STALLED:
        return False
    fell = (run.start_loss is not None and run.final_loss is not None
            and run.final_loss < thresholds.promising_loss_ratio * run.start_loss)
    if fell and task is not None and task.is_classification and task.chance_accuracy is not None:
        return run.val_accuracy is not None and accuracy_learned(
            run.val_accuracy, task, thresholds, gain=thresholds.promising_accuracy_gain)
    return fell


def progress(candidate: Candidate) -> tuple:
    """How far a candidate got on the seeds probed so far (larger is better): what the sweep
    orders candidates by while it still probes them, and combines them by. The final ranking
    of measured fixes weighs how well they trained (`rank.quality`) instead."""
    return progress_of_runs(candidate.runs)


def progress_of_runs(runs: list[SeedRun]) -> tuple:
    """(healthy share, finite share, mean accuracy, mean relative loss drop): larger is better."""
    if not runs:
        return (0.0, 0.0, 0.0, -math.inf)
    healthy = sum(run.ok for run in runs) / len(runs)
    finite = sum(run.outcome in (Outcome.HEALTHY, Outcome.STALLED) for run in runs) / len(runs)
    drops = [1.0 - run.final_loss / run.start_loss for run in runs
             if run.final_loss is not None and run.start_loss and run.start_loss > 0]
    accuracy = [run.val_accuracy for run in runs if run.val_accuracy is not None]
    return (healthy, finite, float(np.mean(accuracy)) if accuracy else 0.0,
            float(np.mean(drops)) if drops else -math.inf)


@contextlib.contextmanager
def restoring_compile(setup: TrainSetup):
    """Candidates that share the captured model compile it with their own optimizer and loss;
    afterwards it is compiled as before, so a trainer built earlier traces the right loss."""
    model = setup.model
    optimizer = getattr(model, "optimizer", None)
    try:
        yield
    finally:
        if optimizer is not None:
            try:
                model.compile(optimizer=optimizer, loss=setup.loss, loss_weights=setup.loss_weights,
                              jit_compile=False)
            except Exception:  # noqa: BLE001 - best effort; the sweep's results stand
                pass
