"""The batchnorm family: BatchNormalization between each hidden layer and its activation.

When the scale of the activations drifts layer after layer (initial weights far larger than
Glorot/He, a deep stack of sigmoid or ReLU units on badly scaled inputs), every step is too
large for some layers and too small for others: units saturate or die, weights and
gradients grow until they overflow. BatchNormalization re-centres and re-scales each hidden
layer's pre-activations per batch (Ioffe & Szegedy, 2015), so the network's scale no longer
depends on its initialisation. It is placed where the paper puts it, before the
nonlinearity: `Dense(64, activation="relu")` becomes `Dense(64)`, `BatchNormalization()`,
`Activation("relu")`.

It is a bigger change than a new learning rate or initializer (new layers, different
behaviour at inference), so the family comes late among those answering a finding and the
ranking prefers a smaller fix that cures as well. Only Sequential models are edited: a layer
inserted into a functional graph would need its connections rewired.

The source edit (`InsertLayersEdit`) is this family's own: it writes the new layers right
after the hidden layer's constructor, in the `Sequential([...])` list or as `model.add(...)`
lines.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.helpers import (
    activation_of,
    codes,
    describe_layer,
    is_weighted,
    layers_of,
    output_layer,
)
from nanfix.fixes.source import calls
from nanfix.fixes.source.edits import LayerEdit, Script, SourceEdit
from nanfix.fixes.source.script import callee_name
from nanfix.fixes.source.text import Replacement, Unpatchable
from nanfix.probes.setup import TrainSetup, model_config
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("M402", "N701", "N703", "N704", "N705", "S801", "S802", "U901", "U902", "U903")
# The findings that say the activations' scale drifts: only then is the family proposed...
SCALE_DRIFT = frozenset({"M402", "N704", "N705", "S802", "U901", "U902", "U903"})
# ...unless the drift starts in the inputs: unscaled inputs are answered by scaling them, and
# normalising inside the network would only hide that cause.
UNSCALED_INPUTS = "D104"
MIN_HIDDEN_LAYERS = 2  # a single hidden layer has no depth for the scale to drift over
NORMALIZATION_CLASSES = ("BatchNormalization", "LayerNormalization", "GroupNormalization",
                         "UnitNormalization")


def _hidden_targets(layers: list[dict]) -> list[dict]:
    """The hidden weighted layers (Dense, Conv...), when none of the model is normalised."""
    if any(layer.get("class_name") in NORMALIZATION_CLASSES for layer in layers):
        return []
    output = output_layer(layers)
    return [layer for layer in layers if layer is not output and is_weighted(layer)
            and "activation" in layer.get("config", {})]


def _insert_normalization(targets: dict[str, str]):
    """A model-config edit: after each target layer, BatchNormalization and the target's
    activation (the target itself becomes linear)."""

    def edit(config: dict) -> dict:
        import keras

        config = copy.deepcopy(config)
        config.pop("compile_config", None)  # the Trainer compiles the rebuilt model itself
        layers = []
        for layer in config["config"]["layers"]:
            layers.append(layer)
            name = layer.get("config", {}).get("name")
            if name not in targets:
                continue
            layer["config"]["activation"] = "linear"
            layers.append(keras.saving.serialize_keras_object(
                keras.layers.BatchNormalization(name=f"{name}_batchnorm")))
            if targets[name] != "linear":
                layers.append(keras.saving.serialize_keras_object(
                    keras.layers.Activation(targets[name], name=f"{name}_activation")))
        config["config"]["layers"] = layers
        return config

    return edit


@dataclass
class InsertLayersEdit(SourceEdit):
    """New layers right after the constructor of layer `after`, in the script's own style:
    the next elements of a `Sequential([...])` list, or `model.add(...)` lines."""

    after: str
    layers: tuple[str, ...]  # constructor code; {keras} is the script's Keras prefix
    needs: ClassVar[frozenset[str]] = frozenset({"keras"})

    def replace(self, script: Script) -> list[Replacement]:
        source = script.source
        found = calls.layer_calls(script.setup.model, source)
        call = found.get(self.after)
        if call is None:
            raise Unpatchable(f"the constructor of layer {self.after} was not found")
        if sum(other is call for other in found.values()) > 1:
            raise Unpatchable("the call makes several layers")
        code = [layer.format(keras=script.keras) for layer in self.layers]
        parent = _parent(source.tree, call)
        if isinstance(parent, ast.List):
            return [_after_list_element(source, parent, call, code)]
        if isinstance(parent, ast.Call) and callee_name(parent) == "add" and parent.args[:1] == [call]:
            statement = source.statement_at(parent)
            owner = source.segment(parent.func.value)
            indent = source.lines[statement.lineno - 1][:statement.col_offset]
            at = source.line_starts[statement.end_lineno]
            return [Replacement(at, at, "".join(f"{indent}{owner}.add({line})\n" for line in code))]
        raise Unpatchable(f"layer {self.after} is neither in a Sequential list nor added with add()")

    def snippet(self, script: Script) -> str:
        code = ", ".join(layer.format(keras=script.keras) for layer in self.layers)
        return f"# after layer {self.after}:\n{code}"


def _parent(tree: ast.AST, node: ast.AST) -> ast.AST | None:
    for candidate in ast.walk(tree):
        for child in ast.iter_child_nodes(candidate):
            if child is node:
                return candidate
    return None


def _after_list_element(source, elements: ast.List, call: ast.Call, code: list[str]) -> Replacement:
    """The new elements after `call`: each on its own line when the list has one per line."""
    _, end = source.span(call)
    index = elements.elts.index(call)
    following = elements.elts[index + 1] if index + 1 < len(elements.elts) else None
    one_per_line = following is not None and following.lineno > call.end_lineno or \
        (following is None and elements.end_lineno > call.end_lineno)
    if one_per_line:
        line = source.lines[call.lineno - 1]
        indent = line[:len(line) - len(line.lstrip())]
        text = "".join(f",\n{indent}{item}" for item in code)
    else:
        text = "".join(f", {item}" for item in code)
    return Replacement(end, end, text)


@family("batchnorm", "Normalise the hidden layers", answers=ANSWERS, priority=75,
        model_edit=True)
def batchnorm(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    found = codes(findings)
    if not found & SCALE_DRIFT or UNSCALED_INPUTS in found:
        return []
    if model_config(setup.model).get("class_name") != "Sequential":
        return []
    targets = _hidden_targets(layers_of(setup))
    if len(targets) < MIN_HIDDEN_LAYERS:
        return []
    activations: dict[str, str] = {}
    changes, edits = [], []
    for layer in targets:
        name, activation = layer["config"]["name"], activation_of(layer)
        activations[name] = activation
        inserted = ["{keras}.layers.BatchNormalization()"]
        if activation != "linear":
            inserted.append(f"{{keras}}.layers.Activation({activation!r})")
            edits.append(LayerEdit(name, {"activation": None}))
        edits.append(InsertLayersEdit(name, tuple(inserted)))
        changes.append(f"{describe_layer(setup, layer)}: BatchNormalization before its "
                       f"{activation} activation")

    def transform(current: TrainSetup) -> TrainSetup:
        return current.edit_model(_insert_normalization(activations))

    return [Fix(id="batchnorm-hidden", family="batchnorm",
                title="BatchNormalization before each hidden activation",
                transform=transform, changes=tuple(changes), edits=tuple(edits),
                magnitude=0.75 * len(targets))]
