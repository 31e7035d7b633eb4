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
    # each probe seed's own draw of the data, for a script that draws it at random ({seed:
    # TrainingData}, `data` being seed 0's); None: every seed trains on `data`
    draws: dict[int, TrainingData] | None = None

    def with_changes(self, **changes: Any) -> TrainSetup:
        return replace(self, **changes)

    def retask(self) -> TrainSetup:
        """The setup with its task read again from the (edited) output activation, the loss
        and the targets, as `capture.task.infer` read the script's: a fix that changes one of
        them changes what is judged (a data fix the chance accuracy, a new loss the kind).
        A model with several outputs keeps its tasks: no fix changes its heads."""
        if self.task.outputs:
            return self
        from nanfix.capture.task import infer_output

        activation, units = self.task.output_activation, self.task.classes
        if self.model_edits:
            config = self.edited_config()
            activation = output_activation_of(config) or activation
            units = output_units_of(config) or units
        return replace(self, task=infer_output(activation, units, self.loss, self.data.y))

    def edited_config(self) -> dict:
        """The model's serialized config with every model edit made."""
        config = copy.deepcopy(model_config(self.model))
        for edit in self.model_edits:
            config = edit(config)
        return config

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


def output_layer_config(layers: list[dict]) -> dict | None:
    """The last layer that shapes the output (layout layers such as Dropout are skipped)."""
    from nanfix.capture.task import LAYOUT_CLASSES

    for layer in reversed(layers):
        if layer.get("class_name") in LAYOUT_CLASSES:
            continue
        return layer
    return None


def activation_name(layer: dict) -> str:
    """The activation a serialized layer applies, as Keras names it ("linear" for none)."""
    if layer.get("class_name") == "Softmax":
        return "softmax"
    if layer.get("class_name") in ("ReLU", "LeakyReLU", "PReLU", "ELU"):
        return layer["class_name"].lower()
    activation = layer.get("config", {}).get("activation", "linear")
    if isinstance(activation, dict):  # a serialized activation object
        activation = activation.get("config", {}).get("name") or activation.get("class_name", "custom")
    return str(activation or "linear").lower()


def output_activation_of(config: dict) -> Any:
    """The output activation (`capture.task.Activation`) of a serialized model, or None."""
    from nanfix.capture.task import Activation

    if "layers" not in config.get("config", {}):
        return None
    output = output_layer_config(layer_configs(config))
    return Activation.of(activation_name(output)) if output is not None else None


def output_units_of(config: dict) -> int | None:
    """The units of a serialized model's last layer that has units (a Dense head), or None."""
    if "layers" not in config.get("config", {}):
        return None
    units = [layer["config"]["units"] for layer in layer_configs(config)
             if isinstance(layer.get("config", {}).get("units"), int)]
    return units[-1] if units else None


def all_layer_configs(config: dict) -> list[dict]:
    """Every layer config of a serialized model, those nested in sub-models included."""
    out = []
    for layer in config.get("config", {}).get("layers", []):
        out.append(layer)
        if "layers" in layer.get("config", {}):
            out.extend(all_layer_configs(layer))
    return out


def set_layer_settings(changes: dict[str, dict[str, Any]]) -> ModelEdit:
    """A model edit that sets config keys of the named layers (None: the key is removed, so
    the layer's default applies, as when the argument is left out of its constructor)."""
    changes = copy.deepcopy(changes)

    def edit(config: dict) -> dict:
        config = _without_compile(config)
        for layer in all_layer_configs(config):
            settings = changes.get(layer.get("config", {}).get("name"))
            for key, value in (settings or {}).items():
                if value is None:
                    layer["config"].pop(key, None)
                else:
                    layer["config"][key] = copy.deepcopy(value)
        return config

    return edit


def insert_after(layer_name: str, new_layers: list[dict]) -> ModelEdit:
    """A model edit that inserts serialized layers right after layer `layer_name` of a
    Sequential model's list."""
    new_layers = copy.deepcopy(new_layers)

    def edit(config: dict) -> dict:
        config = _without_compile(config)
        layers = []
        for layer in config["config"]["layers"]:
            layers.append(layer)
            if layer.get("config", {}).get("name") == layer_name:
                layers.extend(copy.deepcopy(new_layers))
        config["config"]["layers"] = layers
        return config

    return edit


def insert_first(new_layer: dict) -> ModelEdit:
    """A model edit that makes a serialized layer the first one of a Sequential model (after
    its InputLayer)."""
    new_layer = copy.deepcopy(new_layer)

    def edit(config: dict) -> dict:
        config = _without_compile(config)
        layers = config["config"]["layers"]
        at = 1 if layers and layers[0].get("class_name") == "InputLayer" else 0
        config["config"]["layers"] = [*layers[:at], copy.deepcopy(new_layer), *layers[at:]]
        return config

    return edit


def replace_policies(old: tuple[str, ...], new: str) -> ModelEdit:
    """A model edit that gives every layer computing under a policy in `old` the policy `new`."""

    def edit(config: dict) -> dict:
        config = _without_compile(config)
        stack: list[Any] = [config]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                if policy_name(node) in old:
                    node["config"]["dtype"] = {"module": "keras", "class_name": "DTypePolicy",
                                               "config": {"name": new}, "registered_name": None}
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
        return config

    return edit


def policy_name(layer: dict) -> str | None:
    """The dtype policy's name in a serialized layer config ("mixed_float16"), or None."""
    config = layer.get("config")
    dtype = config.get("dtype") if isinstance(config, dict) else None
    if isinstance(dtype, dict):
        return (dtype.get("config") or {}).get("name")
    return dtype if isinstance(dtype, str) else None


def _without_compile(config: dict) -> dict:
    """A copy of the config without its compile settings: they may hold a custom loss that
    does not deserialize, and the Trainer compiles the rebuilt model itself."""
    config = copy.deepcopy(config)
    config.pop("compile_config", None)
    return config


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
