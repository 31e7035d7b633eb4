"""What the fix families share: reading findings and optimizer settings, describing a
change in the user's terms, and editing a serialized model's layers.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from nanfix.fixes.catalog import Fix
from nanfix.fixes.source.edits import OptimizerEdit
from nanfix.probes.setup import TrainSetup, layer_configs, model_config, rebuildable
from nanfix.records import Finding

# Findings that mean the data itself is broken: no optimizer change may "cure" them.
DATA_PROBLEM_CODES = ("D101", "D102", "L202", "L203")
# The probe findings of a divergence, and of a stall: families choose their grids by them.
DIVERGENCE_CODES = frozenset({"N701", "N702", "N703", "N704", "N705"})
STALL_CODES = frozenset({"S801", "S802", "S803", "S805"})
RELU_LIKE = ("relu", "relu6", "elu", "selu", "leaky_relu", "gelu", "silu", "swish")
LAYOUT_CLASSES = ("Dropout", "Flatten", "Reshape", "SpatialDropout1D", "SpatialDropout2D",
                  "GaussianNoise", "GaussianDropout", "AlphaDropout")
ACTIVATION_CLASSES = ("Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax")


def codes(findings: Iterable[Finding]) -> set[str]:
    return {finding.code for finding in findings}


def diverges(findings: Iterable[Finding]) -> bool:
    return bool(codes(findings) & DIVERGENCE_CODES)


def stalls(findings: Iterable[Finding]) -> bool:
    return bool(codes(findings) & STALL_CODES)


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(float(value)) else None


def tidy(value: float, digits: int = 3) -> float:
    """0.30000000000000004 -> 0.3, 9.9999997e-06 -> 1e-05."""
    return float(f"{value:.{digits}g}")


def show(value: Any) -> str:
    if isinstance(value, float):
        return repr(tidy(value, 6))
    if isinstance(value, str):
        return repr(value)
    return str(value)


def optimizer_change(setup: TrainSetup, new: dict[str, Any], class_name: str | None = None) -> str:
    """'SGD(learning_rate=3.0) → SGD(learning_rate=3.0, clipnorm=1.0)'."""
    old_settings = setup.optimizer_settings
    keys = ["learning_rate"] + [key for key in new if key != "learning_rate"]

    def call(name: str, settings: dict[str, Any], only_set: bool) -> str:
        shown = [f"{key}={show(settings[key])}" for key in keys
                 if settings.get(key) is not None and not isinstance(settings.get(key), dict)
                 and (not only_set or key in new or key == "learning_rate")]
        return f"{name}({', '.join(shown)})"

    merged = dict(old_settings)
    merged.update(new)
    if class_name:
        merged = dict(new)
    return f"{call(setup.optimizer_name, old_settings, True)} → {call(class_name or setup.optimizer_name, merged, True)}"


def optimizer_fix(setup: TrainSetup, *, id: str, family: str, title: str,
                  settings: dict[str, Any], magnitude: float = 1.0) -> Fix:
    """A fix that only changes optimizer arguments (the cheapest kind to probe and to apply)."""
    return Fix(id=id, family=family, title=title,
               transform=lambda s: s.edit_optimizer(**settings),
               changes=(optimizer_change(setup, settings),),
               edits=(OptimizerEdit(dict(settings)),), magnitude=magnitude)


def layers_of(setup: TrainSetup) -> list[dict]:
    """The serialized layer configs of the captured model ([] for a subclassed model)."""
    if not rebuildable(setup.model):
        return []
    return layer_configs(model_config(setup.model))


def edit_layers(changes: dict[str, dict[str, Any]]) -> Callable[[dict], dict]:
    """A model-config edit that sets config keys of the named layers."""
    changes = copy.deepcopy(changes)

    def edit(config: dict) -> dict:
        config = copy.deepcopy(config)
        # the captured compile settings may hold a custom loss that will not deserialize; the
        # Trainer compiles the rebuilt model itself
        config.pop("compile_config", None)
        for layer in _all_layers(config):
            settings = changes.get(layer.get("config", {}).get("name"))
            if settings:
                layer["config"].update(copy.deepcopy(settings))
        return config

    return edit


def _all_layers(config: dict) -> list[dict]:
    out = []
    for layer in config.get("config", {}).get("layers", []):
        out.append(layer)
        if "layers" in layer.get("config", {}):
            out.extend(_all_layers(layer))
    return out


def layer_origin(setup: TrainSetup, name: str) -> str | None:
    try:
        return getattr(setup.model.get_layer(name), "_nanfix_origin", None)
    except (ValueError, AttributeError):
        return None


def describe_layer(setup: TrainSetup, layer: dict) -> str:
    name = layer["config"].get("name")
    origin = layer_origin(setup, name)
    where = f", {origin}" if origin else ""
    return f"{name} ({layer.get('class_name')}{where})"


def activation_of(layer: dict) -> str:
    if layer.get("class_name") == "Softmax":
        return "softmax"
    if layer.get("class_name") in ("ReLU", "LeakyReLU", "PReLU", "ELU"):
        return layer["class_name"].lower()
    activation = layer.get("config", {}).get("activation", "linear")
    if isinstance(activation, dict):  # a serialized activation object
        activation = activation.get("config", {}).get("name") or activation.get("class_name", "custom")
    return str(activation or "linear").lower()


def output_layer(layers: list[dict]) -> dict | None:
    """The last layer that shapes the output (layout layers such as Dropout are skipped)."""
    for layer in reversed(layers):
        if layer.get("class_name") in LAYOUT_CLASSES:
            continue
        return layer
    return None


def is_weighted(layer: dict) -> bool:
    return "units" in layer.get("config", {}) or "filters" in layer.get("config", {})


def followed_by_activation(layers: list[dict], index: int) -> bool:
    """A Dense/Conv whose output goes through an activation layer next is not linear."""
    for layer in layers[index + 1:]:
        if layer.get("class_name") in ("BatchNormalization", "LayerNormalization", *LAYOUT_CLASSES):
            continue
        return layer.get("class_name") in ACTIVATION_CLASSES
    return False


def retask(setup: TrainSetup, **changes: Any) -> TrainSetup:
    """The setup with its Task updated for a new output activation or loss."""
    return setup.with_changes(task=replace(setup.task, **changes))
