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

The new layers are an `InsertLayersEdit`: written right after the hidden layer's
constructor, in the `Sequential([...])` list or as `model.add(...)` lines.
"""

from __future__ import annotations

from collections.abc import Sequence

from nanfix.capture.task import Activation
from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.helpers import activation_of, codes, is_weighted, layers_of
from nanfix.fixes.source.edits import InsertLayersEdit
from nanfix.probes.setup import TrainSetup, model_config, output_layer_config
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
    output = output_layer_config(layers)
    return [layer for layer in layers if layer is not output and is_weighted(layer)
            and "activation" in layer.get("config", {})]


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
    edits = []
    for layer in targets:
        activation = activation_of(layer)
        edits.append(InsertLayersEdit(layer["config"]["name"], ("{keras}.layers.BatchNormalization()",),
                                      activation=None if activation is Activation.LINEAR else activation.value))
    return [Fix(base=setup, id="batchnorm-hidden", family="batchnorm",
                title="BatchNormalization before each hidden activation",
                edits=tuple(edits), magnitude=0.75 * len(targets))]
