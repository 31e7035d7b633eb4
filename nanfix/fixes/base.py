"""The catalog's building blocks: a `Fix` (one concrete change) and a `Family` of them.

A family is one registered function that looks at the training setup and the findings and
proposes its concrete fixes (the learning-rate family proposes one fix per grid value). A
`Fix` is self-describing: its id, family, title, the finding codes it answers, how to apply it
to a `TrainSetup`, how to say the change in the user's terms (`changes`), and the source
edits that become the diff.

Example::

    @family("clipping", "Clip gradients", answers=("N701", "N705"))
    def clipping(setup, findings, grid):
        return [Fix(id="clipnorm-1", family="clipping", title="Clip each gradient's norm to 1",
                    answers=ANSWERS, transform=lambda s: s.edit_optimizer(clipnorm=1.0),
                    changes=("SGD(learning_rate=3.0) → SGD(learning_rate=3.0, clipnorm=1.0)",),
                    edits=(OptimizerEdit({"clipnorm": 1.0}),))]
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from nanfix.patch import OptimizerEdit, SourceEdit
from nanfix.results import Finding
from nanfix.trainsetup import TrainSetup, layer_configs, model_config, rebuildable

Transform = Callable[[TrainSetup], TrainSetup]

# Findings that mean the data itself is broken: no optimizer change may "cure" them.
DATA_PROBLEM_CODES = ("D101", "D102", "L202", "L203")
RELU_LIKE = ("relu", "relu6", "elu", "selu", "leaky_relu", "gelu", "silu", "swish")
LAYOUT_CLASSES = ("Dropout", "Flatten", "Reshape", "SpatialDropout1D", "SpatialDropout2D",
                  "GaussianNoise", "GaussianDropout", "AlphaDropout")
ACTIVATION_CLASSES = ("Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax")


@dataclass(frozen=True)
class Fix:
    """One candidate change, ready to apply, probe and describe."""

    id: str
    family: str
    title: str
    answers: tuple[str, ...]  # finding codes this fix answers
    transform: Transform
    changes: tuple[str, ...]  # "SGD(learning_rate=3.0) → SGD(learning_rate=0.3)"
    edits: tuple[SourceEdit, ...] = ()
    magnitude: float = 1.0  # how far the change moves the script: lr x0.1 = 1, x0.001 = 3
    data_fix: bool = False
    note: str = ""  # what the report should add, e.g. what must change in the data
    parts: tuple[str, ...] = ()  # for a combination: the ids it combines

    @property
    def size(self) -> int:
        """How many edits the change needs (a combination counts all of its parts')."""
        return max(1, len(self.edits), len(self.parts))

    def apply(self, setup: TrainSetup) -> TrainSetup:
        return self.transform(setup).with_changes(label=self.id)

    def applies(self, setup: TrainSetup, findings: list[Finding]) -> bool:
        """Whether this fix makes sense for `setup` (its family would propose it)."""
        if self.parts:
            return True
        family = FAMILIES.get(self.family)
        return family is not None and any(fix.id == self.id for fix in family.fixes(setup, findings))


GridProposal = Callable[[TrainSetup, list[Finding], Sequence[float] | None], list[Fix]]


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    answers: tuple[str, ...]
    propose: GridProposal
    model_edit: bool = False  # needs a rebuildable model
    data_fix: bool = False

    def applies(self, setup: TrainSetup, findings: list[Finding]) -> bool:
        if self.model_edit and not rebuildable(setup.model):
            return False
        return bool(self.fixes(setup, findings))

    def fixes(self, setup: TrainSetup, findings: list[Finding],
              grid: Sequence[float] | None = None) -> list[Fix]:
        if self.model_edit and not rebuildable(setup.model):
            return []
        try:
            return self.propose(setup, findings, grid)
        except Exception:  # noqa: BLE001 - one family that cannot read an odd model must not sink the sweep
            return []


FAMILIES: dict[str, Family] = {}


def family(name: str, title: str, answers: Iterable[str] = (), model_edit: bool = False,
           data_fix: bool = False):
    """Register the decorated proposal function as fix family `name`."""

    def register(propose: GridProposal) -> GridProposal:
        if name in FAMILIES:
            raise ValueError(f"fix family {name} registered twice")
        FAMILIES[name] = Family(name, title, tuple(answers), propose, model_edit, data_fix)
        return propose

    return register


# -- helpers the families share ---------------------------------------------------------


def codes(findings: Iterable[Finding]) -> set[str]:
    return {finding.code for finding in findings}


def diverges(findings: Iterable[Finding]) -> bool:
    return bool(codes(findings) & {"N701", "N702", "N703", "N704", "N705"})


def stalls(findings: Iterable[Finding]) -> bool:
    return bool(codes(findings) & {"S801", "S802", "S803"})


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


def optimizer_fix(setup: TrainSetup, *, id: str, family: str, title: str, answers: tuple[str, ...],
                  settings: dict[str, Any], magnitude: float = 1.0) -> Fix:
    """A fix that only changes optimizer arguments (the cheapest kind to probe and to apply)."""
    return Fix(id=id, family=family, title=title, answers=answers,
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

