"""Where a resumed probe starts: the recorded state of the user's own training.

`nanfix probe train.py --from DIR` runs the script to its first `fit` as always (for the data,
the model and the compile settings) and then starts every probe, the baseline's and each
fix's, from the weights and optimizer state the flight recorder kept (`nanfix.capture.record`),
or from a Keras checkpoint saved with its optimizer. The seeds vary the data order, not the
weights: a failure that took hours to come is probed from the moment before it.

The state is matched to the probe's model by position and shape (`model.weights` order, then
the optimizer's slots by name suffix and shape): variable names differ between two runs of
the same script, shapes do not. A state from another model is a usage error that says which
weights differ.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nanfix.capture import record

# Optimizer variables a resumed probe does not take from the record: the learning rate is the
# setup's (a fix changes it), the rest is the optimizer's state.
NOT_STATE = ("learning_rate",)


class StartMismatch(ValueError):
    """The recorded state does not fit the model (another architecture, or a fix that changes
    the weights' shapes)."""


@dataclass
class StartState:
    """The recorded state a probe starts from, as plain arrays."""

    source: str  # the record's directory or the checkpoint file
    kind: str  # "record" or "checkpoint"
    weights: list[np.ndarray]  # model.weights order
    weight_names: list[str]
    optimizer_class: str | None
    optimizer: list[tuple[str, np.ndarray]] = field(default_factory=list)  # (slot name, value)
    step: int | None = None  # the recorded run's step the state was taken after
    epoch: int | None = None
    trigger: dict[str, Any] = field(default_factory=dict)
    recorded_loss: float | None = None

    @property
    def iterations(self) -> int | None:
        for name, value in self.optimizer:
            if name.endswith("iteration") or name.endswith("iterations"):
                return int(value)
        return None

    def describe(self) -> dict[str, Any]:
        """The report's `resume` section."""
        return {"from": self.source, "kind": self.kind, "step": self.step, "epoch": self.epoch,
                "optimizer": self.optimizer_class, "optimizer_steps": self.iterations,
                "recorded_loss": self.recorded_loss, "trigger": self.trigger or None}


def load(path: str, model: Any) -> StartState:
    """The state at `path` (a flight record or a .keras checkpoint), checked against `model`."""
    kind = record.describe_source(path)
    state = from_record(path) if kind == "record" else from_checkpoint(path, model)
    check_fits(state, model)
    return state


def from_record(path: str) -> StartState:
    manifest = record.read_manifest(path)
    try:
        with np.load(manifest.state_file) as arrays:
            weights = [arrays[f"weight_{i}"] for i in range(len(manifest.weight_shapes))]
            names = [name for name, _ in (manifest.data.get("optimizer") or {}).get("variables", [])]
            optimizer = [(name, arrays[f"optimizer_{i}"]) for i, name in enumerate(names)]
    except (OSError, KeyError, ValueError) as error:
        raise record.RecordError(f"{manifest.state_file} cannot be read ({type(error).__name__}: "
                                 f"{error}); the record is damaged. Record the run again.") from None
    return StartState(source=os.path.abspath(manifest.path), kind="record", weights=weights,
                      weight_names=[name for name, _ in manifest.weight_shapes],
                      optimizer_class=manifest.optimizer_class, optimizer=optimizer,
                      step=manifest.step, epoch=manifest.epoch, trigger=manifest.trigger,
                      recorded_loss=manifest.data["state"].get("loss"))


def from_checkpoint(path: str, model: Any) -> StartState:
    """A .keras file saved with its optimizer (`model.save`, `ModelCheckpoint("x.keras")`)."""
    import keras

    try:
        loaded = keras.saving.load_model(path, compile=True,
                                         custom_objects={type(model).__name__: type(model)})
    except Exception as error:  # noqa: BLE001 - a damaged file, a class Keras cannot find
        raise record.RecordError(
            f"Keras cannot load {path} ({type(error).__name__}: {str(error).splitlines()[0][:300]}). "
            f"A checkpoint of a model with custom layers loads when they are registered with "
            f"@keras.saving.register_keras_serializable(); or record the run with "
            f"NanGuard(record=DIR), which needs no loading.") from None
    optimizer = getattr(loaded, "optimizer", None)
    variables = list(getattr(optimizer, "variables", []) or [])
    return StartState(source=os.path.abspath(path), kind="checkpoint",
                      weights=[np.array(keras.ops.convert_to_numpy(v)) for v in loaded.weights],
                      weight_names=[v.path for v in loaded.weights],
                      optimizer_class=type(optimizer).__name__ if optimizer is not None else None,
                      optimizer=[(record.slot_name(v.path), np.array(keras.ops.convert_to_numpy(v)))
                                 for v in variables])


def check_fits(state: StartState, model: Any) -> None:
    """A usage error (RecordError) when the state was recorded from another model."""
    if _shapes_fit(state, model):
        return
    shapes = [tuple(v.shape) for v in model.weights]
    recorded = [tuple(array.shape) for array in state.weights]
    where = next((i for i, (a, b) in enumerate(zip(shapes, recorded, strict=False)) if a != b),
                 min(len(shapes), len(recorded)))
    detail = (f"weight {where} is {model.weights[where].path} {shapes[where]} in the script but "
              f"{state.weight_names[where]} {recorded[where]} in the record"
              if where < min(len(shapes), len(recorded)) else
              f"the script's model has {len(shapes)} weights, the record {len(recorded)}")
    raise record.RecordError(
        f"{state.source} was recorded from another model: {detail}. --from needs the record of "
        f"this script's own training (same layers, same shapes).")


def assignments(state: StartState, model: Any, optimizer: Any) -> list[tuple[Any, np.ndarray]]:
    """(variable, value) pairs that put `model` and its built `optimizer` in the recorded state.
    An optimizer of another class, or with other variables, keeps its fresh state (a fix that
    swaps Adam for SGD). Raises StartMismatch when the weights do not fit (a fix that adds or
    reshapes weights cannot start from the record)."""
    if not _shapes_fit(state, model):
        raise StartMismatch("the recorded state does not fit this change: it adds or reshapes weights")
    pairs = list(zip(model.weights, state.weights, strict=True))
    if state.optimizer_class != type(optimizer).__name__:
        return pairs
    recorded = [(name, value) for name, value in state.optimizer if not name.endswith(NOT_STATE)]
    mine = [v for v in optimizer.variables if not v.path.endswith(NOT_STATE)]
    if [(_suffix(v.path), tuple(v.shape)) for v in mine] != \
            [(_suffix(name), tuple(value.shape)) for name, value in recorded]:
        return pairs
    return pairs + list(zip(mine, (value for _, value in recorded), strict=True))


def _shapes_fit(state: StartState, model: Any) -> bool:
    return [tuple(v.shape) for v in model.weights] == [tuple(array.shape) for array in state.weights]


def _suffix(name: str) -> str:
    """A slot's kind ("momentum", "velocity", "iteration"), without the variable it belongs to."""
    return name.rsplit("/", 1)[-1].rsplit("_", 1)[-1]
