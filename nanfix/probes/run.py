"""Probe one training configuration over several seeds and say how each seed ended.

A probe trains for a bounded number of steps per seed (fresh weights each seed, same data),
records a per-step history and the monitors' signals, stops a seed as soon as it has clearly
diverged, and hands the measurements to `nanfix.probes.judge`: diverged (non-finite or
exploding), stalled (finite but nothing learned) or healthy (finite and learning).
`nanfix.probes.localize` names where the first non-finite value appeared.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from nanfix.config import Settings, Thresholds
from nanfix.probes.judge import LossWindow, exploded, judge
from nanfix.probes.localize import locate_nonfinite
from nanfix.probes.trainer import Trainer
from nanfix.records import NonFinite, Outcome, ProbeResult, SeedRun, finite_or_none

Progress = Callable[[dict[str, Any]], None]

# After an explosion the baseline trains this many more steps looking for the first NaN/Inf.
EXPLOSION_GRACE_STEPS = 100
# After a late jump it trains this many more, so the curve shows where the loss went.
JUMP_GRACE_STEPS = 20
# While a seed's loss is converged, Adam's state is read every this many steps: the last
# reading before a jump is its evidence.
ADAM_EVERY_STEPS = 10


class Deadline:
    def __init__(self, seconds: float | None):
        self.end = None if seconds is None else time.monotonic() + seconds

    def passed(self) -> bool:
        return self.end is not None and time.monotonic() > self.end

    def left(self) -> float:
        return math.inf if self.end is None else self.end - time.monotonic()


def probe(trainer: Trainer, label: str, settings: Settings, deadline: Deadline,
          on_progress: Progress | None = None, steps: int | None = None,
          seeds: list[int] | None = None, stop_on_explosion: bool = False) -> ProbeResult:
    """Train `trainer`'s configuration on each seed; return every seed's SeedRun."""
    started = time.perf_counter()
    steps = steps or settings.steps
    seeds = list(range(settings.seeds)) if seeds is None else seeds
    runs = []
    for index, seed in enumerate(seeds):
        if deadline.passed():
            runs.append(SeedRun(seed=seed, outcome=Outcome.TIMED_OUT, steps_run=0,
                                reason="the time limit ran out before this seed started"))
            continue
        runs.append(probe_seed(trainer, seed, steps, settings.thresholds, deadline,
                               on_progress=on_progress, label=label, seed_index=index,
                               seed_count=len(seeds), stop_on_explosion=stop_on_explosion))
    return ProbeResult(label=label, runs=runs, steps=steps,
                       elapsed_s=time.perf_counter() - started)


def probe_seed(trainer: Trainer, seed: int, steps: int, thresholds: Thresholds,
               deadline: Deadline, on_progress: Progress | None = None, label: str = "",
               seed_index: int = 0, seed_count: int = 1,
               stop_on_explosion: bool = False) -> SeedRun:
    started = time.perf_counter()
    trainer.reset(seed)
    fresh_eval = None
    try:
        if trainer.resumes:
            # a resumed seed is judged against a fresh model's loss (where the recorded run
            # started), then starts from the recorded state
            fresh_eval = trainer.evaluate()
            trainer.resume()
        start_eval = trainer.evaluate()
    except Exception as error:  # noqa: BLE001 - the model cannot even predict its data
        return SeedRun(seed=seed, outcome=Outcome.CRASHED, steps_run=0, traceback=traceback.format_exc(),
                       reason=f"evaluating the model raised {type(error).__name__}: {_first_line(error)}",
                       elapsed_s=time.perf_counter() - started)
    layout = trainer.layout
    layers = sorted(set(layout.variable_layers), key=layout.variable_layers.index)
    history = {"loss": [], "accuracy": [], "grad_norm": []}
    weight_norms: dict[str, list[float | None]] = {layer: [] for layer in layers}
    dead, saturated, grad_rms, alignments = [], [], [], []
    first_weight_norm: dict[str, float] = {}
    first_nonfinite: NonFinite | None = None
    exploded_at: int | None = None
    fresh_loss = (fresh_eval or start_eval)["loss"]
    fresh_loss = fresh_loss if math.isfinite(fresh_loss) else None
    # a resumed seed starts near its best: an explosion is measured on a fresh model's scale
    # (for a fresh seed that is its own start)
    reference = fresh_loss
    best = math.inf
    explode_factor = thresholds.explode_factor
    jumps = JumpTracker(trainer, fresh_loss, thresholds, measure_now=trainer.resumes)
    adam_mid = None
    report_every = max(1, steps // 20)
    timed_out = False
    step = 0
    crashed, crash_detail = None, None
    for step, index in zip(range(steps), trainer.batches(seed), strict=False):
        try:
            stats = trainer.unpack(trainer.step(index))
        except Exception as error:  # noqa: BLE001 - e.g. a label outside the output's range
            crashed = f"the training step raised {type(error).__name__}: {_first_line(error)}"
            crash_detail = traceback.format_exc()
            break
        loss, accuracy, grad_sq, alignment = (float(v) for v in stats["scalars"])
        if math.isfinite(alignment):
            alignments.append(alignment)
        history["loss"].append(finite_or_none(loss))
        history["accuracy"].append(finite_or_none(accuracy))
        history["grad_norm"].append(finite_or_none(math.sqrt(grad_sq)) if grad_sq >= 0 else None)
        norms = _per_layer(layout.variable_layers, stats["weight_norm"])
        for layer in layers:
            weight_norms[layer].append(finite_or_none(norms.get(layer)))
            if step == 0 and norms.get(layer) is not None:
                first_weight_norm[layer] = norms[layer]
        if stats["grad_rms"].size and np.all(np.isfinite(stats["grad_rms"])):
            grad_rms.append(stats["grad_rms"])
        if stats["dead"].size:
            dead.append(stats["dead"])
        if stats["saturated"].size:
            saturated.append(stats["saturated"])
        if first_nonfinite is None:
            first_nonfinite = locate_nonfinite(step, loss, stats, layout, trainer)
        if first_nonfinite is not None:
            break
        if math.isfinite(loss):
            best = min(best, loss)
            if reference is None:
                reference = loss
            if exploded_at is None and exploded(loss, reference, best, explode_factor):
                exploded_at = step
            # Sweeps stop an exploding candidate at once; the baseline keeps going a little
            # so the report can name the step and layer where values turn non-finite.
            if exploded_at is not None and (stop_on_explosion or step - exploded_at >= EXPLOSION_GRACE_STEPS):
                break
            jumps.add(step, loss)
            if jumps.jump is not None and (stop_on_explosion or step - jumps.jump["step"] >= JUMP_GRACE_STEPS):
                break
        if step == steps // 2:
            adam_mid = trainer.adam_second_moment(thresholds.adam_v_epsilon_factor)
        if on_progress and (step % report_every == 0):
            on_progress({"event": "step", "label": label, "seed": seed, "seed_index": seed_index,
                         "seeds": seed_count, "step": step, "steps": steps, "loss": finite_or_none(loss)})
        if step % 25 == 0 and deadline.passed():
            timed_out = True
            break
    steps_run = step + 1
    if crashed:
        return SeedRun(seed=seed, outcome=Outcome.CRASHED, steps_run=step, reason=crashed,
                       traceback=crash_detail,
                       loss=history["loss"], grad_norm=history["grad_norm"],
                       start_loss=finite_or_none(start_eval["loss"]),
                       elapsed_s=time.perf_counter() - started)
    end_eval = trainer.evaluate()
    classifier = trainer.task.is_classification  # a regression has no accuracy to report
    run = SeedRun(seed=seed, outcome=Outcome.HEALTHY, steps_run=steps_run,
                  loss=history["loss"], grad_norm=history["grad_norm"], weight_norm=weight_norms,
                  first_nonfinite=first_nonfinite, start_loss=finite_or_none(start_eval["loss"]),
                  final_loss=finite_or_none(end_eval["loss"]),
                  best_loss=finite_or_none(best if best < math.inf else None),
                  train_accuracy=_tail_mean(history["accuracy"]) if classifier else None,
                  val_loss=finite_or_none(end_eval["loss"]),
                  val_accuracy=finite_or_none(end_eval["accuracy"]) if classifier else None)
    run.signals = _signals(trainer, start_eval, end_eval, history, weight_norms,
                           first_weight_norm, layout, dead, saturated, exploded_at, thresholds)
    if fresh_eval is not None:
        run.signals["fresh_loss"] = finite_or_none(fresh_eval["loss"])
    if jumps.jump is not None:
        run.signals["late_jump"] = jumps.jump
    if adam_mid is not None:
        run.signals["adam_mid"] = adam_mid
    if grad_rms:
        run.signals["grad_rms_by_layer"] = _layer_gradients(trainer, layout, grad_rms)
    if trainer.custom_step and alignments:
        # the script's own train_step: does its update descend the compiled loss?
        run.signals["update_alignment"] = float(np.median(alignments))
    run.outcome, run.stall, run.reason = judge(run, trainer.task, thresholds, exploded_at, timed_out)
    run.learned = run.outcome is Outcome.HEALTHY
    run.elapsed_s = time.perf_counter() - started
    if on_progress:
        on_progress({"event": "seed_done", "label": label, "seed": seed, "seed_index": seed_index,
                     "seeds": seed_count, "outcome": run.outcome.value, "reason": run.reason})
    return run


class JumpTracker:
    """Watches a seed's training loss for a late jump (`judge.LossWindow`) and keeps Adam's
    state from before it: the evidence of why. Adam is read only while the loss is converged
    (and at a resumed seed's start), so an ordinary probe pays nothing."""

    def __init__(self, trainer: Trainer, fresh_loss: float | None, thresholds: Thresholds,
                 measure_now: bool):
        self.trainer, self.thresholds = trainer, thresholds
        # without a fresh model's loss there is no scale to judge a jump on
        self.watch = LossWindow(thresholds, first=fresh_loss) if fresh_loss is not None else None
        self.jump: dict[str, Any] | None = None
        self.adam_before = self._adam() if measure_now else None
        self.adam_step = 0 if measure_now else None

    def _adam(self):
        return self.trainer.adam_second_moment(self.thresholds.adam_v_epsilon_factor)

    def add(self, step: int, loss: float) -> None:
        watch = self.watch
        if self.jump is not None or watch is None:
            return
        if watch.add(loss):
            self.jump = {"step": step, "loss": watch.recent, "best": watch.best, "first": watch.first,
                         "ratio": watch.recent / max(watch.best, 1e-30),
                         "adam_before": self.adam_before, "adam_step": self.adam_step}
        elif watch.converged and not watch.rising and step % ADAM_EVERY_STEPS == 0:
            self.adam_before, self.adam_step = self._adam(), step


def _first_line(error: Exception) -> str:
    """The informative line of a TensorFlow error (not 'Graph execution error:' or a node path)."""
    noise = ("Graph execution error", "Detected at node", "File ", "[[", "{{", "in user code",
             "return ", "res = ", "losses = ", "loss_fn(", "raise ")
    lines = [line.strip() for line in str(error).splitlines()
             if line.strip() and not line.strip().startswith(noise)]
    return (lines[0] if lines else type(error).__name__)[:300]


def _per_layer(variable_layers: list[str], values: np.ndarray) -> dict[str, float]:
    squares: dict[str, float] = {}
    for layer, value in zip(variable_layers, values, strict=False):
        squares[layer] = squares.get(layer, 0.0) + float(value) ** 2
    return {layer: math.sqrt(total) for layer, total in squares.items()}


def _layer_gradients(trainer, layout, grad_rms: list[np.ndarray]) -> list[list]:
    """[layer, median RMS gradient of its kernels] for the weighted layers, input side first:
    the first layers' gradients against the last ones' say whether gradients vanish."""
    medians = np.median(np.stack(grad_rms), axis=0)
    kernels = [index for index, path in enumerate(layout.variables)
               if path.rsplit("/", 1)[-1] in ("kernel", "depthwise_kernel", "embeddings")]
    chosen = kernels or range(len(layout.variables))
    out: list[list] = []
    for index in chosen:
        layer = layout.variable_layers[index]
        if not out or out[-1][0] != layer:
            out.append([layer, float(medians[index])])
    return out


def _tail_mean(values: list[float | None], fraction: float = 0.2) -> float | None:
    tail = [v for v in values[-max(1, int(len(values) * fraction)):] if v is not None]
    return float(np.mean(tail)) if tail else None


def _signals(trainer, start_eval, end_eval, history, weight_norms, first_weight_norm, layout,
             dead, saturated, exploded_at, thresholds: Thresholds) -> dict[str, Any]:
    """Measurements the findings read: growth, dead units, saturation, Adam, predictions."""
    growth = {}
    for layer, norms in weight_norms.items():
        start = first_weight_norm.get(layer)
        finite = [n for n in norms if n is not None]
        if start and finite:
            growth[layer] = max(finite) / max(start, 1e-12)
    grads = [g for g in history["grad_norm"] if g is not None]
    signals: dict[str, Any] = {
        "start_eval": {k: finite_or_none(v) for k, v in start_eval.items()},
        "end_eval": {k: finite_or_none(v) for k, v in end_eval.items()},
        "weight_growth": growth,
        "grad_norm_first": grads[0] if grads else None,
        "grad_norm_max": max(grads) if grads else None,
        "exploded_at": exploded_at,
        "constant_guess_loss": getattr(trainer, "constant_guess_loss", None),
        "head_guess_losses": dict(getattr(trainer, "head_guesses", None) or {}),
    }
    if dead:
        tail = np.mean(np.stack(dead[-max(1, len(dead) // 5):]), axis=0)
        signals["dead_relu"] = dict(zip(layout.dead_layers, (float(v) for v in tail), strict=False))
    if saturated:
        tail = np.mean(np.stack(saturated[-max(1, len(saturated) // 5):]), axis=0)
        signals["saturation"] = dict(zip(layout.saturating_layers, (float(v) for v in tail), strict=False))
    adam = trainer.adam_second_moment(thresholds.adam_v_epsilon_factor)
    if adam:
        signals["adam"] = adam
    return signals
