"""A training configuration as data: what a probe trains, and what a fix changes.

The baseline setup is what the script captured. A fix returns a new setup with an edit:
to the model's config (an activation, an initializer), to the optimizer's config (learning
rate, epsilon, clipping, or its class), to the loss, or to the data (scaling, dropped rows).
`nanfix.probes.build` turns a setup into a Trainer.

This module imports no TensorFlow (Keras is imported where a function needs it), so the fix
catalog, which only describes changes to a setup, loads without it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from nanfix.capture.task import Task
from nanfix.capture.training_data import TrainingData

ModelEdit = Callable[[dict], dict]  # takes and returns a serialized model config


@dataclass
class TrainSetup:
    model: Any  # the captured model (weights are redrawn per seed)
    optimizer_config: dict[str, Any]  # keras.optimizers.serialize(...)
    loss: Any
    data: TrainingData
    task: Task
    loss_weights: Any = None
    model_edits: list[ModelEdit] = field(default_factory=list)
    label: str = "baseline"
    # the recorded state every seed starts from (`--from`, nanfix.probes.resume.StartState);
    # None: fresh weights from the model's initializers
    start: Any = None

    def with_changes(self, **changes: Any) -> TrainSetup:
        return replace(self, **changes)

    def edit_model(self, edit: ModelEdit) -> TrainSetup:
        return replace(self, model_edits=[*self.model_edits, edit])

    def edit_optimizer(self, **config: Any) -> TrainSetup:
        optimizer = copy.deepcopy(self.optimizer_config)
        optimizer["config"].update(config)
        return replace(self, optimizer_config=optimizer)

    @property
    def optimizer_name(self) -> str:
        return self.optimizer_config.get("class_name", "?")

    @property
    def optimizer_settings(self) -> dict[str, Any]:
        return self.optimizer_config.get("config", {})


def from_capture(model: Any, optimizer: Any, loss: Any, data: TrainingData, task: Task,
                 loss_weights: Any = None) -> TrainSetup:
    import keras

    return TrainSetup(model=model, optimizer_config=keras.optimizers.serialize(optimizer),
                      loss=loss, data=data, task=task, loss_weights=loss_weights)


def model_config(model: Any) -> dict:
    import keras

    return keras.saving.serialize_keras_object(model)


def rebuildable(model: Any) -> bool:
    """Model edits need a config we can rebuild from (Sequential and functional models)."""
    try:
        config = model_config(model)
        return "layers" in config.get("config", {})
    except Exception:  # noqa: BLE001 - subclassed models without get_config
        return False


def layer_configs(config: dict) -> list[dict]:
    """The per-layer config dicts of a serialized Sequential/functional model, in order."""
    return [layer for layer in config["config"]["layers"] if layer.get("class_name") != "InputLayer"]


def custom_train_step(model: Any) -> str | None:
    """The script's own `train_step` ("Stepper.train_step"), or None when Keras' runs.

    Keras 3 lets a Model subclass override `train_step`; `fit` then trains with it, so the
    probe must too (a sign error or a skipped update lives there).
    """
    for klass in type(model).__mro__:
        if "train_step" in vars(klass):
            module = klass.__module__ or ""
            return None if module.split(".")[0] == "keras" else f"{klass.__qualname__}.train_step"
    return None
