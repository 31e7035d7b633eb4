"""The pairing family: an output activation and a loss that belong together.

Categorical cross-entropy expects softmax probabilities (or logits with from_logits=True);
binary cross-entropy expects sigmoid outputs; sparse labels (class ids) need the sparse loss
and one-hot labels the plain one. A mismatched pair trains on a wrong gradient, saturates at
chance, or takes log(0). Each fix here changes the output layer's activation, the loss, or
both, and the diff edits the output layer's line and/or compile's `loss=`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nanfix.capture.task import BINARY_LOSSES, CATEGORICAL_LOSSES, SPARSE_LOSSES
from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.helpers import describe_layer, edit_layers, layers_of, output_layer, retask
from nanfix.fixes.source.edits import LayerEdit, LossEdit
from nanfix.probes.setup import TrainSetup
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("L201", "L204", "N701", "P301", "P302", "P303", "P304", "P305", "S801", "S802", "S803")
REGRESSION_KIND = "regression"


@dataclass(frozen=True)
class LossSpec:
    """A built-in loss: the object nanfix trains with and the code the script gets."""

    name: str  # "categorical_crossentropy" | "sparse_categorical_crossentropy" | "binary_crossentropy"
    from_logits: bool
    as_class: bool = False  # write keras.losses.CategoricalCrossentropy() rather than the name

    @property
    def class_name(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_"))

    def build(self):
        if not (self.from_logits or self.as_class):
            return self.name
        import keras

        return getattr(keras.losses, self.class_name)(from_logits=self.from_logits)

    def code(self) -> str:
        if not (self.from_logits or self.as_class):
            return "{q}" + self.name + "{q}"
        return "{keras}.losses." + self.describe()

    def describe(self) -> str:
        if self.from_logits:
            return f"{self.class_name}(from_logits=True)"
        return f"{self.class_name}()" if self.as_class else self.name


def classification_loss(setup: TrainSetup, from_logits: bool, kind: str | None = None,
                        as_class: bool = False) -> LossSpec:
    """The built-in cross-entropy for the task and its label format."""
    task = setup.task
    kind = kind or task.kind
    if kind == "multiclass":
        name = "sparse_categorical_crossentropy" if task.label_format == "sparse" else "categorical_crossentropy"
    else:
        name = "binary_crossentropy"
    return LossSpec(name, from_logits, as_class)


def loss_label(setup: TrainSetup) -> str:
    name = setup.task.loss_name
    if name == "custom":
        function = getattr(setup.loss, "__name__", None) or type(setup.loss).__name__
        return f"{function} (hand-written)"
    return f"{name}(from_logits=True)" if setup.task.from_logits else name


def output_config(setup: TrainSetup) -> dict | None:
    """The output layer's config when its activation can be set (Dense, Conv, Activation)."""
    layer = output_layer(layers_of(setup))
    if layer is None or "activation" not in layer.get("config", {}):
        return None
    return layer


def change_fix(setup: TrainSetup, *, id: str, title: str,
               family_name: str = "pairing", activation: str | None = None,
               loss: LossSpec | None = None, kind: str | None = None,
               magnitude: float = 1.0) -> Fix | None:
    """A fix that sets the output activation and/or the loss (and updates the task)."""
    output = output_config(setup)
    if activation is not None and output is None:
        return None
    changes, edits = [], []
    layer_changes = {}
    if activation is not None:
        name = output["config"]["name"]
        old = output["config"].get("activation", "linear")
        if old == activation:
            activation = None
        else:
            layer_changes[name] = {"activation": activation}
            changes.append(f"{describe_layer(setup, output)}: activation {old} → {activation}")
            edits.append(LayerEdit(name, {"activation": activation}))
    if loss is not None:
        changes.append(f"loss {loss_label(setup)} → {loss.describe()}")
        edits.append(LossEdit(loss.code()))
    if not edits:
        return None
    task_changes = {}
    if activation is not None:
        task_changes["output_activation"] = activation
    if loss is not None:
        task_changes.update(loss_name=loss.name, from_logits=loss.from_logits)
    if kind is not None:
        task_changes["kind"] = kind

    def transform(current: TrainSetup) -> TrainSetup:
        if layer_changes:
            current = current.edit_model(edit_layers(layer_changes))
        if loss is not None:
            current = current.with_changes(loss=loss.build())
        return retask(current, **task_changes)

    return Fix(id=id, family=family_name, title=title, transform=transform,
               changes=tuple(changes), edits=tuple(edits), magnitude=magnitude * len(edits))


def _cross_entropy_loss(name: str) -> bool:
    return name in CATEGORICAL_LOSSES | SPARSE_LOSSES | BINARY_LOSSES


@family("pairing", "Pair the output activation with the loss", answers=ANSWERS, priority=30, model_edit=False)
def pairing(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    task = setup.task
    if task.kind == REGRESSION_KIND or task.loss_name in ("custom", "none", "multiple"):
        return []
    proposals = {
        "multiclass": _multiclass,
        "binary": _binary,
        "multilabel": _multilabel,
    }[task.kind](setup)
    return [fix for fix in proposals if fix is not None]


def _multiclass(setup: TrainSetup) -> list[Fix | None]:
    task = setup.task
    name, activation, logits = task.loss_name, task.output_activation, task.from_logits
    fixes: list[Fix | None] = []
    label_loss = classification_loss(setup, from_logits=logits)
    if name in CATEGORICAL_LOSSES | SPARSE_LOSSES and name != label_loss.name:
        fixes.append(change_fix(
            setup, id=f"loss-{label_loss.name.split('_')[0]}",
            title=f"Use {label_loss.name} for {'class-id' if task.label_format == 'sparse' else 'one-hot'} labels",
            loss=label_loss))
    if name in CATEGORICAL_LOSSES | SPARSE_LOSSES:
        if not logits and activation != "softmax":
            fixes.append(change_fix(setup, id="output-softmax",
                                    title=f"Softmax output for {name} (was {activation})",
                                    activation="softmax", loss=label_loss if name != label_loss.name else None))
            fixes.append(change_fix(setup, id="output-logits",
                                    title="Linear output with from_logits=True",
                                    activation="linear",
                                    loss=classification_loss(setup, from_logits=True)))
        if logits and activation in ("softmax", "sigmoid"):
            fixes.append(change_fix(setup, id="output-linear",
                                    title=f"Linear output: the loss already applies softmax ({activation} twice)",
                                    activation="linear"))
    else:
        # MSE / binary cross-entropy on a multi-class target
        fixes.append(change_fix(setup, id="loss-crossentropy",
                                title=f"Softmax output with {label_loss.name} instead of {name}",
                                activation="softmax",
                                loss=classification_loss(setup, from_logits=False)))
    return fixes


def _binary(setup: TrainSetup) -> list[Fix | None]:
    task = setup.task
    name, activation, logits = task.loss_name, task.output_activation, task.from_logits
    fixes: list[Fix | None] = []
    if name in BINARY_LOSSES:
        if not logits and activation != "sigmoid":
            fixes.append(change_fix(setup, id="output-sigmoid",
                                    title=f"Sigmoid output for {name} (was {activation})",
                                    activation="sigmoid"))
            fixes.append(change_fix(setup, id="output-logits", title="Linear output with from_logits=True",
                                    activation="linear", loss=LossSpec("binary_crossentropy", True)))
        if logits and activation in ("sigmoid", "softmax"):
            fixes.append(change_fix(setup, id="output-linear",
                                    title=f"Linear output: the loss already applies sigmoid ({activation} twice)",
                                    activation="linear"))
    else:
        fixes.append(change_fix(setup, id="loss-binary",
                                title=f"Sigmoid output with binary_crossentropy instead of {name}",
                                activation="sigmoid", loss=LossSpec("binary_crossentropy", False),
                                kind="binary"))
    return fixes


def _multilabel(setup: TrainSetup) -> list[Fix | None]:
    task = setup.task
    if task.loss_name in BINARY_LOSSES and (task.output_activation == "sigmoid" or task.from_logits):
        return []
    loss = None if task.loss_name in BINARY_LOSSES else LossSpec("binary_crossentropy", False)
    return [change_fix(setup, id="output-sigmoid",
                       title="Sigmoid outputs with binary_crossentropy for multi-label targets",
                       activation="sigmoid", loss=loss)]
