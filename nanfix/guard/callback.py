"""The in-training guard: a Keras callback that stops `fit` at the first non-finite number.

It owns one thing: noticing, inside the user's own `model.fit`, the first non-finite loss or
weight, saying where and why in plain words, and stopping before more epochs are wasted.
The deeper diagnosis (which op, which fix cures it) is `nanfix probe`'s job; the guard only
points there.

>>> import keras, numpy as np
>>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="out")])
>>> model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e3), loss="mse")
>>> guard = NanGuard(printer=lambda text: None)
>>> _ = model.fit(np.full((64, 4), 100.0), np.ones(64), epochs=20, verbose=0, callbacks=[guard])
>>> guard.diagnosis is not None and model.stop_training
True
"""

from __future__ import annotations

import functools
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from nanfix.capture import record
from nanfix.config import Thresholds
from nanfix.guard.recorder import FlightRecorder
from nanfix.probes.judge import JUMP_WINDOW, LossWindow

ACTIONS = ("stop", "raise")

# Titles of the catalog codes the guard reports (the full explanations live in nanfix.findings).
CODE_TITLES = {
    "N701": "non-finite loss",
    "N702": "non-finite weights while the loss is still finite",
    "N703": "loss explosion",
    "N707": "late loss jump after convergence",
}


@dataclass
class Diagnosis:
    """What the guard saw when it fired.

    `step` is the global batch index within this `fit` call (0-based, counted across
    epochs); `kind` is "loss" or "weight" ("gradient" is reserved for a train-step monitor);
    `layer` is the first layer, in `model.layers` order, holding a non-finite weight, or None
    when every weight is still finite.
    """

    step: int
    epoch: int
    kind: str
    layer: str | None
    codes: list[str]
    message: str
    variable: str | None = None  # path of the first non-finite weight, e.g. "dense/kernel"
    loss: float | None = None  # the logged loss (Keras' running mean over the epoch)
    record: str | None = None  # the flight record written for `nanfix probe --from`, if any


class StepLoss:
    """Each step's own loss from Keras' running epoch mean after it (equal batches): the logs
    give `fit`'s mean so far, a late jump is a jump of the steps' losses."""

    def __init__(self):
        self._mean: float | None = None

    def new_epoch(self) -> None:
        self._mean = None

    def of(self, batch: int, mean: float) -> float:
        loss = mean if self._mean is None or batch == 0 else (batch + 1) * mean - batch * self._mean
        self._mean = mean
        return max(loss, 0.0)


class NonFiniteTrainingError(RuntimeError):
    """Raised by `NanGuard(action="raise")`; the guard's findings are in `.diagnosis`."""

    def __init__(self, diagnosis: Diagnosis):
        super().__init__(diagnosis.message)
        self.diagnosis = diagnosis


def print_to_stderr(text: str) -> None:
    print(text, file=sys.stderr)


class NanGuard(keras.callbacks.Callback):
    """Stops training at the first non-finite loss or weight and says where and why.

    The loss is checked after every batch (it is already in the logs, so this is free).
    Weights are checked every `check_every` batches, at every epoch end and whenever the
    loss turns non-finite, with one compiled computation over all of them; only when that
    fails does the guard look layer by layer for the first one holding a NaN or Inf.

    It also watches for a late jump (N707): the training loss, after falling to a hundredth
    of its first value or less, climbs back `spike_factor` times above its best (a few steps'
    mean). That failure has no NaN: seed003's loss fell for 1500 epochs, then jumped and
    plateaued.

    When it fires it prints the step, epoch, layer, the likely cause, the finding codes
    (N701 non-finite loss, N702 non-finite weights with a finite loss, N703 loss explosion,
    N707 late jump) and the command to run next, keeps them in `guard.diagnosis`, and then
    stops (`model.stop_training = True`) or raises `NonFiniteTrainingError`. It restores nothing.

    Flight recorder: with `record=DIR` it also keeps the last good state in memory (weights
    and optimizer variables every `record_every` steps, the last `record_batches` batches)
    and, when it fires, writes it to DIR (`nanfix.capture.record` documents the files).
    `nanfix probe train.py --from DIR` then starts every probe from that state, so a
    failure that took hours to come is probed in minutes.

    Backups: a graceful stop lets Keras finish the epoch, so `BackupAndRestore` saves the
    non-finite weights over its last good backup and then deletes its directory in
    `on_train_end` (and `ModelCheckpoint(save_best_only=False)` saves them too). To keep
    the last good backup, use `action="raise"` and put the guard first in `callbacks`:
    the error ends `fit` before any other callback sees the bad step.

    Args:
        action: "stop" ends `fit` normally; "raise" raises `NonFiniteTrainingError`
            and skips every other callback's `on_epoch_end` and `on_train_end`.
        check_every: check all weights every this many batches (0 or None: only at epoch
            ends and when the loss turns non-finite).
        explode_factor: warn (N703) once when the logged loss exceeds this many times the
            first logged loss of the `fit` call.
        stop_on_explosion: also stop (or raise) on N703, not only warn.
        printer: where the diagnosis text goes; defaults to printing on stderr.
        script: the training script named in the suggested `nanfix probe` command;
            defaults to `sys.argv[0]` when it is a .py file.
        spike_factor: fire (N707) when the loss, after converging, jumps this many times
            above its best (0 or None: do not watch for late jumps).
        record: a directory for the flight record (None: record nothing).
        record_every: steps between two snapshots of the weights and optimizer state.
        record_batches: how many of the last batches the record keeps.

    With `BackupAndRestore`, raise (and put the guard first), so Keras never finishes the
    epoch over the last good backup:

    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e3), loss="mse")
    >>> guard = NanGuard(action="raise", printer=lambda text: None)
    >>> try:
    ...     _ = model.fit(np.full((64, 4), 100.0), np.ones(64), epochs=20, verbose=0, callbacks=[guard])
    ... except NonFiniteTrainingError as error:
    ...     print(error.diagnosis.codes[:1])
    ['N701']
    """

    def __init__(
        self,
        action: str = "stop",
        check_every: int | None = 50,
        explode_factor: float = 100.0,
        stop_on_explosion: bool = False,
        printer: Callable[[str], Any] | None = None,
        script: str | None = None,
        spike_factor: float | None = Thresholds.late_jump_factor,
        record: str | os.PathLike | None = None,
        record_every: int = 50,
        record_batches: int = 4,
    ):
        super().__init__()
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}, got {action!r}")
        self.action = action
        self.check_every = check_every or 0
        self.explode_factor = explode_factor
        self.stop_on_explosion = stop_on_explosion
        self.printer = printer or print_to_stderr
        self.script = script
        self.spike_factor = spike_factor or 0.0
        self.recorder = FlightRecorder(os.fspath(record), every=record_every, batches=record_batches) \
            if record is not None else None
        self.diagnosis: Diagnosis | None = None
        self._all_weights_finite: Callable[[], bool] | None = None
        self._checked_model: Any = None
        self._reset()

    def _reset(self) -> None:
        self.diagnosis = None
        self._epoch = 0
        self._steps_before_epoch = 0
        self._last_batch = -1
        self._first_loss: float | None = None
        self._explosion: dict[str, float] = {}
        self._jump: tuple[float, float, float] | None = None
        self._jumps = LossWindow(Thresholds(), factor=self.spike_factor) if self.spike_factor else None
        self._step_loss = StepLoss()

    # Keras hooks

    def on_train_begin(self, logs=None):
        self._reset()
        if self._checked_model is not self.model:
            self._all_weights_finite = compile_all_finite(float_weights(self.model))
            self._checked_model = self.model
        if self.recorder is not None:
            self.recorder.attach(self.model)

    def on_train_end(self, logs=None):
        if self.recorder is not None:
            self.recorder.detach()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._last_batch = -1
        self._step_loss.new_epoch()

    def on_train_batch_end(self, batch, logs=None):
        if self.diagnosis is not None:
            return
        self._last_batch = batch
        step = self._steps_before_epoch + batch
        loss = (logs or {}).get("loss")
        step_loss, recent, good, jumped = None, None, True, False
        if loss is not None:
            loss = float(loss)
            if not math.isfinite(loss):
                self._observe(step, None, None, good=False)
                self._fire("loss", step, loss)
                return
            if self._check_explosion(step, loss):
                return
            if self._jumps is not None:
                step_loss = self._step_loss.of(batch, loss)
                jumped = self._jumps.add(step_loss)
                recent, good = self._jumps.recent, not self._jumps.rising
        if self.check_every and (step + 1) % self.check_every == 0:
            if not self._all_weights_finite():
                self._observe(step, step_loss, recent, good=False)
                self._fire("weight", step, loss)
                return
        self._observe(step, step_loss if step_loss is not None else loss, recent, good)
        if jumped:
            self._fire("loss", step, loss, codes=["N707"], jump=(recent, self._jumps.best, self._jumps.first))

    def _observe(self, step, loss, recent, good) -> None:
        if self.recorder is not None:
            self.recorder.observe(step, self._epoch, loss, recent, good)

    def on_epoch_end(self, epoch, logs=None):
        if self.diagnosis is not None:
            return
        step = self._steps_before_epoch + self._last_batch
        self._steps_before_epoch += self._last_batch + 1
        if self.recorder is not None:
            self.recorder.epoch_logs.append({k: float(v) for k, v in (logs or {}).items()
                                             if isinstance(v, (int, float)) or hasattr(v, "item")})
        if not self._all_weights_finite():
            self._fire("weight", step, (logs or {}).get("loss"))

    # Judging

    def _check_explosion(self, step: int, loss: float) -> bool:
        """Track N703; True when it fired and training is being stopped."""
        if self._first_loss is None:
            self._first_loss = loss
            return False
        if self._explosion or self._first_loss <= 0:
            return False
        if loss <= self.explode_factor * self._first_loss:
            return False
        self._explosion = {"step": step, "loss": loss, "ratio": loss / self._first_loss}
        if self.stop_on_explosion:
            self._fire("loss", step, loss, codes=["N703"])
            return True
        self.printer(
            f"nanfix: warning N703 {CODE_TITLES['N703']} at step {step + 1} (epoch {self._epoch + 1}): "
            f"loss {loss:.4g} is {loss / self._first_loss:.0f}x the first logged loss "
            f"{self._first_loss:.4g}"
        )
        return False

    def _fire(self, kind: str, step: int, loss: float | None, codes: list[str] | None = None,
              jump: tuple[float, float, float] | None = None):
        layer, variable = first_nonfinite_weight(self.model)
        if codes is None:
            codes = ["N701"] if kind == "loss" else ["N702"]
            if self._explosion:
                codes.append("N703")
        self._jump = jump
        written = self._write_record(kind, step, loss, codes, jump)
        self.diagnosis = Diagnosis(
            step=step,
            epoch=self._epoch,
            kind=kind,
            layer=layer,
            codes=codes,
            message=self._describe(kind, step, loss, codes, layer, variable, written),
            variable=variable,
            loss=None if loss is None else float(loss),
            record=written,
        )
        self.printer(self.diagnosis.message)
        if self.action == "raise":
            if self.recorder is not None:  # fit ends here, without on_train_end
                self.recorder.detach()
            raise NonFiniteTrainingError(self.diagnosis)
        self.model.stop_training = True

    def _write_record(self, kind, step, loss, codes, jump) -> str | None:
        """Write the flight record; a failure to write is said, never raised over the diagnosis."""
        if self.recorder is None:
            return None
        trigger_kind = record.LOSS_SPIKE if jump else (
            record.NONFINITE_LOSS if kind == "loss" else record.NONFINITE_WEIGHT)
        trigger = {"kind": trigger_kind, "code": codes[0], "codes": codes, "step": step,
                   "epoch": self._epoch, "loss": None if loss is None or not math.isfinite(loss) else loss,
                   "recent_loss": jump[0] if jump else None, "best_loss": jump[1] if jump else None,
                   "first_loss": jump[2] if jump else None,
                   "nonfinite_batch_part": self.recorder.nonfinite_batch()}
        try:
            return self.recorder.write(trigger)
        except Exception as error:  # noqa: BLE001 - a full disk must not hide the diagnosis
            self.printer(f"nanfix: the flight record could not be written to {self.recorder.directory}: "
                         f"{type(error).__name__}: {error}")
            return None

    def _describe(self, kind, step, loss, codes, layer, variable, written=None) -> str:
        # counted from 1, as Keras' progress bar counts epochs and batches
        batch = step - self._steps_before_epoch if kind == "loss" else None
        where = f"epoch {self._epoch + 1}" + (f", batch {batch + 1}" if batch is not None else "")
        if codes[0] == "N707":
            recent, best, first = self._jump
            what = (f"the loss jumped to {recent:.3g} (a {JUMP_WINDOW}-step mean), "
                    f"{recent / max(best, 1e-30):.3g}x its best {best:.3g}, after falling from {first:.3g}")
        else:
            what = {"N701": f"loss became {loss}", "N702": "a weight became non-finite"}.get(
                codes[0], f"loss {loss:.4g} exploded")
        verb = "raised" if self.action == "raise" else "stopped"
        lines = [f"nanfix: training {verb} at step {step + 1} ({where}): {what}"]
        for code in codes:
            lines.append(f"  {code} {CODE_TITLES[code]}")
        if layer is not None:
            lines.append(f"  first non-finite weight: layer '{layer}' ({variable})")
        else:
            largest = largest_weight(self.model)
            hint = f"; largest in layer '{largest[0]}' (max |w| {largest[1]:.3g})" if largest else ""
            lines.append(f"  every weight is still finite{hint}")
        lines.append(f"  likely cause: {self._likely_cause(kind, codes, layer)}")
        if written:
            state = self.recorder.good_state()
            start = "the start of fit" if state.step < 0 else f"step {state.step + 1}"
            lines.append(f"  flight record: {written} (the state at {start})")
            lines.append(f"  next: nanfix probe {self._script_name()} --from {written}")
        else:
            lines.append(f"  next: nanfix probe {self._script_name()}")
        if self.action == "stop":
            lines.append("  note: Keras still ends this epoch, so BackupAndRestore and ModelCheckpoint "
                         "save these weights; NanGuard(action=\"raise\") keeps the last good backup")
        return "\n".join(lines)

    def _likely_cause(self, kind: str, codes: list[str], layer: str | None) -> str:
        if codes[0] == "N707":
            optimizer = type(getattr(self.model, "optimizer", None)).__name__
            adaptive = getattr(self.model.optimizer, "epsilon", None) is not None
            return ((f"{optimizer} divides each step by sqrt(v) + epsilon; once the data is "
                     "fitted, v decays toward epsilon**2 and m / (sqrt(v) + epsilon) no longer "
                     "shrinks with the gradients, so the weights keep moving until the loss "
                     "jumps: a larger epsilon or a lower learning rate near the end") if adaptive else
                    ("the loss jumped after it had converged: the learning rate is too large for "
                     "the sharp minimum it reached (a decaying schedule or a lower rate)"))
        if kind == "weight":
            when = (f" (weights are checked every {self.check_every} batches, so it turned "
                    f"non-finite at most {self.check_every} batches ago)" if self.check_every else "")
            return (f"layer '{layer}' holds NaN/Inf while the loss is still finite, so the bad "
                    "value does not reach the loss: BatchNormalization moving statistics, an "
                    "unused branch, or a unit that ReLU switches off; predictions at inference "
                    f"may be NaN{when}")
        if self._explosion:
            return (f"the loss grew {self._explosion['ratio']:.0f}x from its first value "
                    "before this: the updates diverged; usually the learning rate is too high, "
                    "the inputs or targets are unscaled, or gradients need clipping")
        if layer is None:
            return ("the weights are still finite, so the non-finite value came from this "
                    "batch: NaN/Inf in the inputs or labels, or an unsafe op in the model or "
                    "loss (log of 0, division by 0, sqrt of a negative)")
        return ("the loss jumped to a non-finite value without growing first and the update "
                "carried it into the weights: something overflowed in one step, e.g. unscaled "
                "inputs or targets, a too large learning rate, or an unsafe op (log of 0, "
                "division by 0)")

    def _script_name(self) -> str:
        if self.script:
            return self.script
        if sys.argv and sys.argv[0].endswith(".py"):
            return sys.argv[0]
        return "<your_training_script.py>"


def float_weights(model) -> list:
    """The model's floating-point weights (seed states and counters cannot be NaN)."""
    return [v for v in model.weights if "float" in str(v.dtype)]


# Up to this many weights, the check runs eagerly (one small reduction each): tracing a
# tf.function costs ~0.3 s per model, more than a short fit spends on every check together.
EAGER_CHECK_MAX_VARIABLES = 64


def compile_all_finite(variables: list) -> Callable[[], bool]:
    """One check "are all these weights finite?": eager for a few weights, else one fused
    reduction compiled once (TF backend)."""
    if not variables:
        return lambda: True
    if keras.backend.backend() == "tensorflow" and len(variables) > EAGER_CHECK_MAX_VARIABLES:
        import tensorflow as tf

        # A partial, not a nested function: tf.function keys its retracing statistics on
        # the code object, so one nested function per model would warn about retracing.
        all_finite = tf.function(functools.partial(tensorflow_all_finite, variables))
        return lambda: bool(all_finite())
    # A few weights, or another backend: one reduction per weight, still on device.
    return lambda: all(
        bool(keras.ops.all(keras.ops.isfinite(v))) for v in variables
    )


def tensorflow_all_finite(variables: list):
    import tensorflow as tf

    return tf.reduce_all(tf.stack([tf.reduce_all(tf.math.is_finite(v.value)) for v in variables]))


def first_nonfinite_weight(model) -> tuple[str | None, str | None]:
    """(layer name, weight path) of the first non-finite weight in `model.layers` order.

    Nested models are searched inside, so the innermost layer is named.
    """
    for layer in getattr(model, "layers", []):
        if getattr(layer, "layers", None):
            found = first_nonfinite_weight(layer)
            if found[0] is not None:
                return found
            continue
        for variable in layer.weights:
            if "float" in str(variable.dtype) and not is_finite(variable):
                return layer.name, variable.path
    # Weights owned by the model itself rather than by one of its layers.
    for variable in float_weights(model):
        if not is_finite(variable):
            return model.name, variable.path
    return None, None


def largest_weight(model) -> tuple[str, float] | None:
    """(layer name, largest |weight|) over leaf layers: where a finite blow-up is biggest."""
    largest = None
    for layer in getattr(model, "layers", []):
        if getattr(layer, "layers", None):
            candidates = [largest_weight(layer)]
        else:
            candidates = [(layer.name, float(np.abs(keras.ops.convert_to_numpy(v)).max()))
                          for v in layer.weights if "float" in str(v.dtype) and np.prod(v.shape)]
        for candidate in candidates:
            if candidate is not None and (largest is None or candidate[1] > largest[1]):
                largest = candidate
    return largest


def is_finite(variable) -> bool:
    return bool(np.isfinite(keras.ops.convert_to_numpy(variable)).all())


__all__ = ["Diagnosis", "NanGuard", "NonFiniteTrainingError"]
