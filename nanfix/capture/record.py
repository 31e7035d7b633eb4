"""The flight record's format on disk: what `NanGuard(record=DIR)` writes and `--from` reads
(in capture: like the script's first fit, it is what a probe starts from).

A record is one directory:

    DIR/manifest.json   what happened, when, and what the other files hold (versioned)
    DIR/state.npz       the last good state: the model's weights (`model.weights` order) and
                        the optimizer's variables (`optimizer.variables` order)
    DIR/model.keras     the same state as a Keras model file, optimizer included, for the
                        user (`keras.saving.load_model`); absent when Keras cannot save it
    DIR/batches.npz     the last few batches `fit` trained on before the failure
    DIR/history.json    the training loss of every step (per batch) and every epoch's logs

The manifest is the contract, so it is validated on reading: a directory without one, a
manifest of another format or of a newer version, or one that names a missing file is a
`RecordError` whose message is the paragraph the command line prints (exit 2). This module
imports no TensorFlow: the command line checks a record before starting the worker.

Manifest (version 1)::

    {"format": "nanfix.flight-record", "version": 1, "created": "2026-12-02T08:00:00Z",
     "keras_version": "3.15.1", "nanfix_version": "0.1.0",
     "trigger": {"kind": "loss_spike", "code": "N707", "step": 1830, "epoch": 610,
                 "loss": 0.07, "best_loss": 2.8e-09, "message": "..."},
     "state": {"step": 1812, "epoch": 604, "loss": 3.1e-09, "file": "state.npz",
               "model_file": "model.keras"},
     "model": {"class": "Functional", "params": 9246,
               "weights": [["conv2d/kernel", [16, 16, 1, 4]], ...]},
     "optimizer": {"class": "Adam", "config": {...},
                   "variables": [["iteration", []], ["conv2d_kernel_momentum", [16, 16, 1, 4]], ...]},
     "batches": {"file": "batches.npz", "steps": [1826, 1827, 1828, 1829], "parts": 2},
     "history": "history.json"}
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

FORMAT = "nanfix.flight-record"
VERSION = 1
MANIFEST = "manifest.json"
STATE = "state.npz"
MODEL = "model.keras"
BATCHES = "batches.npz"
HISTORY = "history.json"

# Trigger kinds: what made the recorder write.
NONFINITE_LOSS = "nonfinite_loss"
NONFINITE_WEIGHT = "nonfinite_weight"
LOSS_SPIKE = "loss_spike"


class RecordError(ValueError):
    """A record (or checkpoint) that cannot be resumed from; the message says why and what to do."""


@dataclass
class Manifest:
    path: str  # the record's directory
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def step(self) -> int:
        return int(self.data["state"]["step"])

    @property
    def epoch(self) -> int | None:
        return self.data["state"].get("epoch")

    @property
    def trigger(self) -> dict[str, Any]:
        return self.data.get("trigger") or {}

    @property
    def weight_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        return [(name, tuple(shape)) for name, shape in self.data["model"]["weights"]]

    @property
    def optimizer_class(self) -> str | None:
        return (self.data.get("optimizer") or {}).get("class")

    @property
    def state_file(self) -> str:
        return os.path.join(self.path, self.data["state"].get("file", STATE))


def read_manifest(path: str) -> Manifest:
    """The manifest of the record at `path` (a directory, or its manifest.json), validated."""
    directory = os.path.dirname(path) if os.path.basename(path) == MANIFEST else path
    manifest_path = os.path.join(directory, MANIFEST)
    if not os.path.isfile(manifest_path):
        raise RecordError(
            f"{path} is not a flight record: it has no {MANIFEST}. A record is the directory "
            f"NanGuard(record=DIR) writes when training fails; --from also takes a Keras "
            f"checkpoint saved with its optimizer (a .keras file, e.g. from ModelCheckpoint).")
    try:
        with open(manifest_path) as handle:
            data = json.load(handle)
    except (OSError, ValueError) as error:
        raise RecordError(f"{manifest_path} cannot be read as JSON ({error}); the record is "
                          f"damaged. Record the run again with NanGuard(record=DIR).") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RecordError(f"{manifest_path} is not a nanfix flight record's manifest (its "
                          f"\"format\" is {data.get('format') if isinstance(data, dict) else None!r}, "
                          f"expected {FORMAT!r}).")
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise RecordError(f"{manifest_path} is version {version!r} of the record format; this "
                          f"nanfix reads up to version {VERSION}. Upgrade nanfix, or record again.")
    try:
        state = data["state"]
        int(state["step"])
        for name, shape in data["model"]["weights"]:
            str(name), [int(size) for size in shape]
    except (KeyError, TypeError, ValueError) as error:
        raise RecordError(f"{manifest_path} is incomplete ({type(error).__name__}: {error}); the "
                          f"record is damaged. Record the run again with NanGuard(record=DIR).") from None
    if not os.path.isfile(os.path.join(directory, state.get("file", STATE))):
        raise RecordError(f"the record {directory} has no {state.get('file', STATE)} (the recorded "
                          f"weights); it is incomplete. Record the run again with NanGuard(record=DIR).")
    return Manifest(path=directory, data=data)


def slot_name(path: str) -> str:
    """An optimizer variable's name without the optimizer's own prefix ("adam/iteration" ->
    "iteration", "adam/dense_kernel_momentum" -> "dense_kernel_momentum"): two runs of one
    script name their optimizers apart ("adam", "adam_1"), the slots alike."""
    return path.split("/", 1)[-1]


def write_manifest(directory: str, data: dict[str, Any]) -> str:
    path = os.path.join(directory, MANIFEST)
    with open(path, "w") as handle:
        json.dump({"format": FORMAT, "version": VERSION, **data}, handle, indent=2, default=_plain)
    return path


def _plain(value: Any) -> Any:
    """numpy scalars and shapes as JSON numbers and lists."""
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def describe_source(path: str) -> str:
    """What `--from PATH` names, checked without TensorFlow: "record" or "checkpoint"."""
    if not os.path.exists(path):
        raise RecordError(f"{path} does not exist. --from takes the directory NanGuard(record=DIR) "
                          f"wrote, or a Keras checkpoint saved with its optimizer (a .keras file).")
    if os.path.isdir(path) or os.path.basename(path) == MANIFEST:
        read_manifest(path)
        return "record"
    if path.endswith(".keras"):
        import zipfile

        if not zipfile.is_zipfile(path):
            raise RecordError(f"{path} is not a Keras model file (a .keras file is a zip archive); "
                              f"it may be damaged or saved in another format.")
        return "checkpoint"
    raise RecordError(f"{path} is neither a flight record (a directory with {MANIFEST}) nor a "
                      f"Keras checkpoint (.keras). Weights-only files (.weights.h5) hold no "
                      f"optimizer state, which a resumed probe needs; save with model.save(...keras) "
                      f"or ModelCheckpoint(\"x.keras\").")
