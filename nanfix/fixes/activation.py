"""The activation family: nonlinearities where Dense layers stack linearly, and bounded
ones in place of unbounded (exponential) or deep saturating (sigmoid/tanh stack) ones.

Dense layers without an activation compose into one linear map: the extra layers add
nothing but a product of weight matrices that blows up or vanishes (seed 002: 784-30-10 with
no activation, N(0,1) weights, MSE, SGD 3.0 goes NaN). The book network's cure is sigmoid
hidden units and a softmax output; relu is the modern default. A multi-class output without
an activation gets softmax unless the loss takes logits.
"""

from __future__ import annotations

from collections.abc import Sequence

from nanfix.capture.task import Activation, TaskKind
from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.helpers import (
    activation_of,
    followed_by_activation,
    is_weighted,
    layers_of,
)
from nanfix.fixes.source.edits import LayerEdit
from nanfix.probes.setup import TrainSetup, output_layer_config
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("M401", "N701", "N703", "S801", "S802", "S803", "U901", "U902", "U903")
UNBOUNDED = (Activation.EXPONENTIAL,)
DEEP_STACK = 3  # this many saturating hidden layers count as a deep sigmoid stack


def hidden_layers(layers: list[dict]) -> list[tuple[int, dict]]:
    """Layers with an activation setting, except the output layer."""
    output = output_layer_config(layers)
    return [(index, layer) for index, layer in enumerate(layers)
            if layer is not output and "activation" in layer.get("config", {})]


def linear_hidden(layers: list[dict]) -> list[dict]:
    return [layer for index, layer in hidden_layers(layers)
            if is_weighted(layer) and activation_of(layer) is Activation.LINEAR
            and not followed_by_activation(layers, index)]


def replaceable_hidden(layers: list[dict]) -> list[dict]:
    """Hidden layers whose activation should become relu: linear, unbounded, deep saturating."""
    hidden = hidden_layers(layers)
    saturating = [layer for _, layer in hidden if activation_of(layer).saturating]
    out = list(linear_hidden(layers))
    out += [layer for _, layer in hidden if activation_of(layer) in UNBOUNDED]
    if len(saturating) >= DEEP_STACK:
        out += saturating
    return out


def _output_activation(setup: TrainSetup, layers: list[dict]) -> Activation | None:
    """softmax/sigmoid for a classifier whose output has no activation and whose loss wants one."""
    task = setup.task
    output = output_layer_config(layers)
    if output is None or "activation" not in output.get("config", {}) or task.from_logits:
        return None
    if activation_of(output) not in (Activation.LINEAR, *UNBOUNDED):
        return None
    if task.kind is TaskKind.MULTICLASS:
        return Activation.SOFTMAX
    if task.kind in (TaskKind.BINARY, TaskKind.MULTILABEL):
        return Activation.SIGMOID
    return None


def _fix(setup: TrainSetup, layers: list[dict], targets: list[dict], hidden: Activation,
         fix_id: str, title: str) -> Fix:
    edits = [LayerEdit(layer["config"]["name"], {"activation": hidden.value}) for layer in targets]
    output_activation = _output_activation(setup, layers)
    if output_activation:
        edits.append(LayerEdit(output_layer_config(layers)["config"]["name"],
                               {"activation": output_activation.value}))
    return Fix(base=setup, id=fix_id, family="activation", title=title, edits=tuple(edits),
               magnitude=1.0 * len(edits))


@family("activation", "Add or replace activations", answers=ANSWERS, priority=40, model_edit=True)
def activation(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    layers = layers_of(setup)
    softmax = " and softmax on the output" if _output_activation(setup, layers) is Activation.SOFTMAX else ""
    fixes = []
    relu_targets = replaceable_hidden(layers)
    if relu_targets:
        fixes.append(_fix(setup, layers, relu_targets, Activation.RELU, "activation-relu",
                          "ReLU on the hidden layers" + softmax))
    linear = linear_hidden(layers)
    if linear:
        # the book network of seed 002: sigmoid hidden units, softmax output
        fixes.append(_fix(setup, layers, linear, Activation.SIGMOID, "activation-sigmoid",
                          "Sigmoid on the linear hidden layers" + softmax))
    return fixes
