"""The flight recorder: the last good state of the user's own `fit`, kept cheaply in memory
and written to disk only when training fails.

A failure that comes after hours cannot be probed from fresh weights: the probe would have to
train as long as the user did to get there. So while `fit` runs, `NanGuard(record=DIR)` keeps

- a copy of the weights and the optimizer's variables every `every` steps (host copies, two
  kept: the newest one taken while training was still good is the state to resume from);
- references to the last few batches `fit` trained on (no copy: the batch tensors are kept
  alive, so a step costs nothing more);
- the training loss of every step (recovered from Keras' running epoch mean).

At the failure it writes the record (`nanfix.capture.record` documents the format), and
`nanfix probe train.py --from DIR` starts its probes from that state.
"""

from __future__ import annotations

import datetime
import json
import os
from collections import deque
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from nanfix import __version__
from nanfix.capture import record


@dataclass
class Snapshot:
    step: int  # the global step after which it was taken (-1: the start of fit)
    epoch: int
    loss: float | None  # the smoothed training loss when it was taken
    weights: list[np.ndarray]  # model.weights order
    optimizer: list[np.ndarray]  # optimizer.variables order

    def finite(self) -> bool:
        return all(np.all(np.isfinite(array)) for array in self.weights
                   if np.issubdtype(array.dtype, np.floating))


class FlightRecorder:
    """Keeps what a resumed probe needs; `write` puts it on disk.

    Args:
        directory: where the record is written when training fails (created if missing;
            an existing record there is replaced).
        every: take a snapshot of the weights and optimizer state every this many steps.
        batches: keep this many of the last batches (0: none).
    """

    def __init__(self, directory: str, every: int = 50, batches: int = 4):
        if every < 1:
            raise ValueError(f"record_every must be at least 1, got {every}")
        self.directory = directory
        self.every = int(every)
        self.snapshots: deque[Snapshot] = deque(maxlen=2)
        self.batches: deque[tuple[int, Any]] = deque(maxlen=max(0, int(batches)))
        self.losses: list[float | None] = []  # per step, since the start of fit
        self.epoch_logs: list[dict[str, float]] = []
        self.batches_note: str | None = None
        self._original_function = None
        self._model = None

    # -- while fit runs ---------------------------------------------------------------------

    def attach(self, model) -> None:
        """Start recording this fit: the state it starts from, and a tap on its batches."""
        self._model = model
        self.snapshots.clear()
        self.batches.clear()
        self.losses, self.epoch_logs = [], []
        self.snapshot(-1, 0, None)
        if self.batches.maxlen:
            self.batches_note = self._tap_batches(model)

    def detach(self) -> None:
        if self._model is not None and self._original_function is not None:
            self._model.train_function = self._original_function
        self._original_function = None

    def snapshot(self, step: int, epoch: int, loss: float | None) -> None:
        model = self._model
        optimizer = getattr(model, "optimizer", None)
        variables = list(getattr(optimizer, "variables", []) or [])
        self.snapshots.append(Snapshot(step=step, epoch=epoch, loss=loss, weights=_on_host(model.weights),
                                       optimizer=_on_host(variables)))

    def observe(self, step: int, epoch: int, loss: float | None, smoothed: float | None,
                good: bool) -> None:
        """One finished step: its loss, and a snapshot when one is due and training is good."""
        self.losses.append(loss)
        if good and (step + 1) % self.every == 0:
            self.snapshot(step, epoch, smoothed)

    def _tap_batches(self, model) -> str | None:
        """Replace this fit's train function by one that keeps a reference to each batch and
        runs the same `train_step`, compiled the same way. Keras builds its train function
        before `on_train_begin` but traces it on the first call, so nothing is traced twice.
        Returns why batches are not kept, or None."""
        if keras.backend.backend() != "tensorflow":
            return f"batches are kept on the TensorFlow backend only ({keras.backend.backend()} here)"
        import tensorflow as tf

        if getattr(model, "steps_per_execution", 1) != 1:
            return "batches are not kept with steps_per_execution > 1"
        if tf.distribute.has_strategy():
            return "batches are not kept under a distribution strategy"
        train_step = model.train_step
        step = train_step if model.run_eagerly else tf.function(
            train_step, reduce_retracing=True, jit_compile=bool(model.jit_compile))
        kept = self.batches

        def function(iterator):
            data = iterator.get_next() if isinstance(iterator, tf.data.Iterator) else next(iterator)
            kept.append((len(self.losses), data))  # the global step it trains
            return step(data)

        self._original_function = model.train_function
        model.train_function = function
        return None

    # -- at the failure -----------------------------------------------------------------------

    def good_state(self) -> Snapshot:
        """The newest snapshot with finite weights (the start of fit when none is)."""
        for snapshot in reversed(self.snapshots):
            if snapshot.finite():
                return snapshot
        return self.snapshots[0]

    def write(self, trigger: dict[str, Any]) -> str:
        """Write the record; returns its directory. The model is left in the state it failed in."""
        model = self._model
        os.makedirs(self.directory, exist_ok=True)
        for name in (record.MANIFEST, record.STATE, record.MODEL, record.BATCHES, record.HISTORY):
            path = os.path.join(self.directory, name)
            if os.path.exists(path):
                os.remove(path)
        state = self.good_state()
        optimizer = model.optimizer
        variables = list(optimizer.variables)
        arrays = {f"weight_{i}": array for i, array in enumerate(state.weights)}
        arrays.update({f"optimizer_{i}": array for i, array in enumerate(state.optimizer)})
        np.savez(os.path.join(self.directory, record.STATE), **arrays)
        model_file, model_note = self._save_model(state)
        batches = self._write_batches()
        with open(os.path.join(self.directory, record.HISTORY), "w") as handle:
            json.dump({"loss": self.losses, "epochs": self.epoch_logs}, handle)
        record.write_manifest(self.directory, {
            "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "keras_version": keras.__version__,
            "nanfix_version": __version__,
            "trigger": trigger,
            "state": {"step": state.step + 1, "epoch": state.epoch, "loss": state.loss,
                      "file": record.STATE, "model_file": model_file, "model_note": model_note},
            "model": {"class": type(model).__name__,
                      "params": int(sum(int(np.prod(v.shape)) for v in model.weights)),
                      "weights": [[v.path, list(v.shape)] for v in model.weights]},
            "optimizer": {"class": type(optimizer).__name__,
                          "config": keras.optimizers.serialize(optimizer),
                          "variables": [[record.slot_name(v.path), list(v.shape)] for v in variables]},
            "batches": batches,
            "history": record.HISTORY,
        })
        return self.directory

    def _save_model(self, state: Snapshot) -> tuple[str | None, str | None]:
        """model.keras with the good state's weights and optimizer variables; the failed
        state is put back afterwards, so `fit` (and the user) see what really happened."""
        model = self._model
        variables = list(model.optimizer.variables)
        failed = (_on_host(model.weights), _on_host(variables))
        try:
            _assign(model.weights, state.weights)
            _assign(variables, state.optimizer)
            model.save(os.path.join(self.directory, record.MODEL))
            return record.MODEL, None
        except Exception as error:  # noqa: BLE001 - e.g. a subclassed model without get_config
            return None, f"Keras could not save the model ({type(error).__name__}: {error}); state.npz holds its state"
        finally:
            _assign(model.weights, failed[0])
            _assign(variables, failed[1])

    def _write_batches(self) -> dict[str, Any] | None:
        if not self.batches:
            return None if self.batches_note is None else {"file": None, "note": self.batches_note}
        import tensorflow as tf

        arrays, steps, parts = {}, [], 0
        for index, (step, data) in enumerate(self.batches):
            flat = [np.asarray(keras.ops.convert_to_numpy(part)) for part in tf.nest.flatten(data)]
            parts = len(flat)
            steps.append(step)
            arrays.update({f"batch_{index}_{j}": array for j, array in enumerate(flat)})
        np.savez(os.path.join(self.directory, record.BATCHES), **arrays)
        return {"file": record.BATCHES, "steps": steps, "parts": parts,
                "note": "each batch as fit passed it to train_step, flattened: x, then y, then sample weights"}

    def nonfinite_batch(self) -> str | None:
        """Which part of the newest kept batch holds NaN/Inf ("x", "y"), if any: then the
        failure came with the data, not from the training."""
        if not self.batches:
            return None
        import tensorflow as tf

        _, data = self.batches[-1]
        parts = data if isinstance(data, (tuple, list)) else (data,)
        for name, part in zip(("x", "y", "sample weights"), parts, strict=False):
            for array in tf.nest.flatten(part):
                values = np.asarray(keras.ops.convert_to_numpy(array))
                if np.issubdtype(values.dtype, np.floating) and not np.all(np.isfinite(values)):
                    return name
        return None


def _assign(variables: list, arrays: list[np.ndarray]) -> None:
    for variable, array in zip(variables, arrays, strict=True):
        variable.assign(array)


def _on_host(variables: list) -> list[np.ndarray]:
    """Host copies of the variables' current values."""
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]
