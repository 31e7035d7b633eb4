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
from nanfix.records import (
    Evaluation,
    LateJump,
    NonFinite,
    Outcome,
    ProbeResult,
    SeedRun,
    Signals,
    finite_or_none,
)

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
    """Train one seed to its end (or its stop) and say how it ended."""
    seed_probe = SeedProbe(trainer, seed, steps, thresholds, deadline, on_progress, label,
                           seed_index, seed_count, stop_on_explosion)
    failed = seed_probe.begin()
    if failed is not None:
        return failed
    step = 0
    for step, index in zip(range(steps), trainer.batches(seed), strict=False):
        try:
            vector = trainer.step(index)
        except Exception as error:  # noqa: BLE001 - e.g. a label outside the output's range
            seed_probe.crash(error)
            break
        if not seed_probe.add(step, trainer.unpack(vector)):
            break
    return seed_probe.finish(step)


class SeedProbe:
    """One seed's probe, step by step: `begin` (fresh weights, the start's evaluation), `add`
    each step's measurements until it says stop, `finish` (the judgement). Who runs the steps
    is the caller's business: `probe_seed` one seed at a time, `nanfix.probes.stack` several
    seeds in one compiled step, each seed with its own SeedProbe, so both judge alike."""

    def __init__(self, trainer: Trainer, seed: int, steps: int, thresholds: Thresholds,
                 deadline: Deadline, on_progress: Progress | None = None, label: str = "",
                 seed_index: int = 0, seed_count: int = 1, stop_on_explosion: bool = False):
        self.trainer, self.seed, self.steps, self.thresholds = trainer, seed, steps, thresholds
        self.deadline, self.on_progress, self.label = deadline, on_progress, label
        self.seed_index, self.seed_count, self.stop_on_explosion = seed_index, seed_count, stop_on_explosion
        self.started = time.perf_counter()
        self.crashed: str | None = None
        self.crash_detail: str | None = None

    def begin(self) -> SeedRun | None:
        """Fresh weights (or the recorded state) and the start's evaluation; a crashed run
        when the model cannot even predict its data."""
        trainer = self.trainer
        trainer.reset(self.seed)
        fresh_eval = None
        try:
            if trainer.resumes:
                # a resumed seed is judged against a fresh model's loss (where the recorded run
                # started), then starts from the recorded state
                fresh_eval = trainer.evaluate()
                trainer.resume()
            start_eval = trainer.evaluate()
        except Exception as error:  # noqa: BLE001 - the model cannot even predict its data
            return SeedRun(seed=self.seed, outcome=Outcome.CRASHED, steps_run=0,
                           traceback=traceback.format_exc(),
                           reason=f"evaluating the model raised {type(error).__name__}: {_first_line(error)}",
                           elapsed_s=time.perf_counter() - self.started)
        self.fresh_eval, self.start_eval = fresh_eval, start_eval
        layout = trainer.layout
        self.layers = sorted(set(layout.variable_layers), key=layout.variable_layers.index)
        self.history: dict[str, list] = {"loss": [], "accuracy": [], "grad_norm": []}
        self.weight_norms: dict[str, list[float | None]] = {layer: [] for layer in self.layers}
        self.dead, self.saturated, self.grad_rms, self.alignments = [], [], [], []
        self.first_weight_norm: dict[str, float] = {}
        self.first_nonfinite: NonFinite | None = None
        self.exploded_at: int | None = None
        fresh_loss = (fresh_eval or start_eval).loss
        # a resumed seed starts near its best: an explosion is measured on a fresh model's scale
        # (for a fresh seed that is its own start)
        self.reference = fresh_loss
        self.best = math.inf
        self.jumps = JumpTracker(trainer, fresh_loss, self.thresholds, measure_now=trainer.resumes)
        self.adam_mid = None
        self.report_every = max(1, self.steps // 20)
        self.timed_out = False
        return None

    def crash(self, error: Exception) -> None:
        """The training step raised (a label outside the output's range): the seed crashed."""
        self.crashed = f"the training step raised {type(error).__name__}: {_first_line(error)}"
        self.crash_detail = traceback.format_exc()

    def add(self, step: int, stats: dict[str, np.ndarray]) -> bool:
        """One step's measurements; False once the seed should stop."""
        trainer, layout, history, thresholds = self.trainer, self.trainer.layout, self.history, self.thresholds
        loss, accuracy, grad_sq, alignment = (float(v) for v in stats["scalars"])
        if math.isfinite(alignment):
            self.alignments.append(alignment)
        history["loss"].append(finite_or_none(loss))
        history["accuracy"].append(finite_or_none(accuracy))
        history["grad_norm"].append(finite_or_none(math.sqrt(grad_sq)) if grad_sq >= 0 else None)
        norms = _per_layer(layout.variable_layers, stats["weight_norm"])
        for layer in self.layers:
            self.weight_norms[layer].append(finite_or_none(norms.get(layer)))
            if step == 0 and norms.get(layer) is not None:
                self.first_weight_norm[layer] = norms[layer]
        if stats["grad_rms"].size and np.all(np.isfinite(stats["grad_rms"])):
            self.grad_rms.append(stats["grad_rms"])
        if stats["dead"].size:
            self.dead.append(stats["dead"])
        if stats["saturated"].size:
            self.saturated.append(stats["saturated"])
        if self.first_nonfinite is None:
            self.first_nonfinite = locate_nonfinite(step, loss, stats, layout, trainer)
        if self.first_nonfinite is not None:
            return False
        if math.isfinite(loss):
            self.best = min(self.best, loss)
            if self.reference is None:
                self.reference = loss
            if self.exploded_at is None and exploded(loss, self.reference, self.best,
                                                     thresholds.explode_factor):
                self.exploded_at = step
            # Sweeps stop an exploding candidate at once; the baseline keeps going a little
            # so the report can name the step and layer where values turn non-finite.
            if self.exploded_at is not None and (self.stop_on_explosion
                                                 or step - self.exploded_at >= EXPLOSION_GRACE_STEPS):
                return False
            self.jumps.add(step, loss)
            jump = self.jumps.jump
            if jump is not None and (self.stop_on_explosion or step - jump.step >= JUMP_GRACE_STEPS):
                return False
        if step == self.steps // 2:
            self.adam_mid = trainer.adam_second_moment(thresholds.adam_v_epsilon_factor)
        if self.on_progress and (step % self.report_every == 0):
            self.on_progress({"event": "step", "label": self.label, "seed": self.seed,
                              "seed_index": self.seed_index, "seeds": self.seed_count, "step": step,
                              "steps": self.steps, "loss": finite_or_none(loss)})
        if step % 25 == 0 and self.deadline.passed():
            self.timed_out = True
            return False
        return True

    def finish(self, step: int) -> SeedRun:
        """The seed's run, judged, after its last step `step`."""
        trainer, history, thresholds = self.trainer, self.history, self.thresholds
        if self.crashed:
            return SeedRun(seed=self.seed, outcome=Outcome.CRASHED, steps_run=step, reason=self.crashed,
                           traceback=self.crash_detail,
                           loss=history["loss"], grad_norm=history["grad_norm"],
                           start_loss=self.start_eval.loss,
                           elapsed_s=time.perf_counter() - self.started)
        end_eval = trainer.evaluate()
        classifier = trainer.task.is_classification  # a regression has no accuracy to report
        best = self.best
        run = SeedRun(seed=self.seed, outcome=Outcome.HEALTHY, steps_run=step + 1,
                      loss=history["loss"], grad_norm=history["grad_norm"], weight_norm=self.weight_norms,
                      first_nonfinite=self.first_nonfinite,
                      start_loss=self.start_eval.loss,
                      final_loss=end_eval.loss,
                      best_loss=finite_or_none(best if best < math.inf else None),
                      train_accuracy=_tail_mean(history["accuracy"]) if classifier else None,
                      val_loss=end_eval.loss,
                      val_accuracy=end_eval.accuracy if classifier else None)
        run.signals = _signals(trainer, self.start_eval, end_eval, history, self.weight_norms,
                               self.first_weight_norm, trainer.layout, self.dead, self.saturated,
                               self.exploded_at, thresholds)
        signals = run.signals
        signals.fresh_loss = self.fresh_eval.loss if self.fresh_eval is not None else None
        signals.late_jump = self.jumps.jump
        signals.adam_mid = self.adam_mid
        if self.grad_rms:
            signals.grad_rms_by_layer = _layer_gradients(trainer, trainer.layout, self.grad_rms)
        if trainer.custom_step and self.alignments:
            # the script's own train_step: does its update descend the compiled loss?
            signals.update_alignment = float(np.median(self.alignments))
        run.outcome, run.stall, run.reason = judge(run, trainer.task, thresholds, self.exploded_at,
                                                   self.timed_out)
        run.learned = run.outcome is Outcome.HEALTHY
        run.elapsed_s = time.perf_counter() - self.started
        if self.on_progress:
            self.on_progress({"event": "seed_done", "label": self.label, "seed": self.seed,
                              "seed_index": self.seed_index, "seeds": self.seed_count,
                              "outcome": run.outcome.value, "reason": run.reason})
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
        self.jump: LateJump | None = None
        self.adam_before = self._adam() if measure_now else None
        self.adam_step = 0 if measure_now else None

    def _adam(self):
        return self.trainer.adam_second_moment(self.thresholds.adam_v_epsilon_factor)

    def add(self, step: int, loss: float) -> None:
        watch = self.watch
        if self.jump is not None or watch is None:
            return
        if watch.add(loss):
            self.jump = LateJump(step=step, loss=watch.recent, best=watch.best, first=watch.first,
                                 ratio=watch.recent / max(watch.best, 1e-30),
                                 adam_before=self.adam_before, adam_step=self.adam_step)
        elif watch.converged and not watch.rising and step % ADAM_EVERY_STEPS == 0:
            self.adam_before, self.adam_step = self._adam(), step


def _first_line(error: Exception) -> str:
    """The informative line of a TensorFlow error (not 'Graph execution error:' or a node path)."""
    noise = ("Graph execution error", "Detected at node", "File ", "[[", "{{", "in user code",
             "return ", "res = ", "losses = ", "loss_fn(", "raise ")
    lines = [line.strip() for line in str(error).splitlines()
             if line.strip() and not line.strip().startswith(noise)]
    first = lines[0] if lines else type(error).__name__
    # TensorFlow follows some messages with the whole batch's values ("Label values: 4 9 6 ...")
    first = first.split("  Label values:")[0].strip()
    return first[:300]


def _per_layer(variable_layers: list[str], values: np.ndarray) -> dict[str, float]:
    squares: dict[str, float] = {}
    for layer, value in zip(variable_layers, values, strict=False):
        squares[layer] = squares.get(layer, 0.0) + float(value) ** 2
    return {layer: math.sqrt(total) for layer, total in squares.items()}


def _layer_gradients(trainer, layout, grad_rms: list[np.ndarray]) -> list[tuple[str, float]]:
    """[layer, median RMS gradient of its kernels] for the weighted layers, input side first:
    the first layers' gradients against the last ones' say whether gradients vanish."""
    medians = np.median(np.stack(grad_rms), axis=0)
    kernels = [index for index, path in enumerate(layout.variables)
               if path.rsplit("/", 1)[-1] in ("kernel", "depthwise_kernel", "embeddings")]
    chosen = kernels or range(len(layout.variables))
    out: list[tuple[str, float]] = []
    for index in chosen:
        layer = layout.variable_layers[index]
        if not out or out[-1][0] != layer:
            out.append((layer, float(medians[index])))
    return out


def _tail_mean(values: list[float | None], fraction: float = 0.2) -> float | None:
    tail = [v for v in values[-max(1, int(len(values) * fraction)):] if v is not None]
    return float(np.mean(tail)) if tail else None


def _signals(trainer, start_eval: Evaluation, end_eval: Evaluation, history, weight_norms,
             first_weight_norm, layout, dead, saturated, exploded_at,
             thresholds: Thresholds) -> Signals:
    """Measurements the findings read: growth, dead units, saturation, Adam, predictions."""
    growth = {}
    for layer, norms in weight_norms.items():
        start = first_weight_norm.get(layer)
        finite = [n for n in norms if n is not None]
        if start and finite:
            growth[layer] = max(finite) / max(start, 1e-12)
    grads = [g for g in history["grad_norm"] if g is not None]
    signals = Signals(start_eval=start_eval, end_eval=end_eval, weight_growth=growth,
                      grad_norm_first=grads[0] if grads else None,
                      grad_norm_max=max(grads) if grads else None, exploded_at=exploded_at,
                      constant_guess_loss=getattr(trainer, "constant_guess_loss", None),
                      head_guess_losses=dict(getattr(trainer, "head_guesses", None) or {}),
                      adam=trainer.adam_second_moment(thresholds.adam_v_epsilon_factor))
    if dead:
        tail = np.mean(np.stack(dead[-max(1, len(dead) // 5):]), axis=0)
        signals.dead_relu = dict(zip(layout.dead_layers, (float(v) for v in tail), strict=False))
    if saturated:
        tail = np.mean(np.stack(saturated[-max(1, len(saturated) // 5):]), axis=0)
        signals.saturation = dict(zip(layout.saturating_layers, (float(v) for v in tail), strict=False))
    return signals
