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

from nanfix.capture.task import (
    BINARY_LOSSES,
    CATEGORICAL_LOSSES,
    SPARSE_LOSSES,
    Activation,
    LabelFormat,
    TaskKind,
)
from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.helpers import layers_of
from nanfix.fixes.source.edits import LayerEdit, LossEdit
from nanfix.fixes.source.text import Code
from nanfix.probes.setup import TrainSetup, output_layer_config
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("L201", "L204", "N701", "P301", "P302", "P303", "P304", "P305", "S801", "S802", "S803")


@dataclass(frozen=True)
class LossSpec:
    """A built-in loss, as the script gets it: by name, or as a class where it needs arguments."""

    name: str  # "categorical_crossentropy" | "sparse_categorical_crossentropy" | "binary_crossentropy"
    from_logits: bool
    as_class: bool = False  # write keras.losses.CategoricalCrossentropy() rather than the name

    @property
    def class_name(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_"))

    def value(self) -> str | Code:
        """What `LossEdit` writes: the name, or the constructor call."""
        if not (self.from_logits or self.as_class):
            return self.name
        return Code("{keras}.losses." + self.describe())

    def describe(self) -> str:
        if self.from_logits:
            return f"{self.class_name}(from_logits=True)"
        return f"{self.class_name}()" if self.as_class else self.name


def classification_loss(setup: TrainSetup, from_logits: bool, kind: TaskKind | None = None,
                        as_class: bool = False) -> LossSpec:
    """The built-in cross-entropy for the task and its label format."""
    task = setup.task
    kind = kind or task.kind
    if kind is TaskKind.MULTICLASS:
        name = ("sparse_categorical_crossentropy" if task.label_format is LabelFormat.SPARSE
                else "categorical_crossentropy")
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
    layer = output_layer_config(layers_of(setup))
    if layer is None or "activation" not in layer.get("config", {}):
        return None
    return layer


def change_fix(setup: TrainSetup, *, id: str, title: str,
               family_name: str = "pairing", activation: Activation | None = None,
               loss: LossSpec | None = None, magnitude: float = 1.0) -> Fix | None:
    """A fix that sets the output activation and/or the loss (the task follows from them)."""
    edits = []
    if activation is not None and setup.task.output_activation is not activation:
        output = output_config(setup)
        if output is None:
            return None
        edits.append(LayerEdit(output["config"]["name"], {"activation": activation.value}))
    if loss is not None:
        edits.append(LossEdit(loss.value(), was=loss_label(setup)))
    if not edits:
        return None
    return Fix(base=setup, id=id, family=family_name, title=title, edits=tuple(edits),
               magnitude=magnitude * len(edits))


def _cross_entropy_loss(name: str) -> bool:
    return name in CATEGORICAL_LOSSES | SPARSE_LOSSES | BINARY_LOSSES


@family("pairing", "Pair the output activation with the loss", answers=ANSWERS, priority=30, model_edit=False)
def pairing(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    task = setup.task
    if task.kind is TaskKind.REGRESSION or task.loss_name in ("custom", "none", "multiple"):
        return []
    proposals = {
        TaskKind.MULTICLASS: _multiclass,
        TaskKind.BINARY: _binary,
        TaskKind.MULTILABEL: _multilabel,
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
            title=f"Use {label_loss.name} for "
                  f"{'class-id' if task.label_format is LabelFormat.SPARSE else 'one-hot'} labels",
            loss=label_loss))
    if name in CATEGORICAL_LOSSES | SPARSE_LOSSES:
        if not logits and activation is not Activation.SOFTMAX:
            fixes.append(change_fix(setup, id="output-softmax",
                                    title=f"Softmax output for {name} (was {activation})",
                                    activation=Activation.SOFTMAX,
                                    loss=label_loss if name != label_loss.name else None))
            fixes.append(change_fix(setup, id="output-logits",
                                    title="Linear output with from_logits=True",
                                    activation=Activation.LINEAR,
                                    loss=classification_loss(setup, from_logits=True)))
        if logits and activation.probabilities:
            fixes.append(change_fix(setup, id="output-linear",
                                    title=f"Linear output: the loss already applies softmax ({activation} twice)",
                                    activation=Activation.LINEAR))
    else:
        # MSE / binary cross-entropy on a multi-class target
        fixes.append(change_fix(setup, id="loss-crossentropy",
                                title=f"Softmax output with {label_loss.name} instead of {name}",
                                activation=Activation.SOFTMAX,
                                loss=classification_loss(setup, from_logits=False)))
    return fixes


def _binary(setup: TrainSetup) -> list[Fix | None]:
    task = setup.task
    name, activation, logits = task.loss_name, task.output_activation, task.from_logits
    fixes: list[Fix | None] = []
    if name in BINARY_LOSSES:
        if not logits and activation is not Activation.SIGMOID:
            fixes.append(change_fix(setup, id="output-sigmoid",
                                    title=f"Sigmoid output for {name} (was {activation})",
                                    activation=Activation.SIGMOID))
            fixes.append(change_fix(setup, id="output-logits", title="Linear output with from_logits=True",
                                    activation=Activation.LINEAR, loss=LossSpec("binary_crossentropy", True)))
        if logits and activation.probabilities:
            fixes.append(change_fix(setup, id="output-linear",
                                    title=f"Linear output: the loss already applies sigmoid ({activation} twice)",
                                    activation=Activation.LINEAR))
    else:
        fixes.append(change_fix(setup, id="loss-binary",
                                title=f"Sigmoid output with binary_crossentropy instead of {name}",
                                activation=Activation.SIGMOID, loss=LossSpec("binary_crossentropy", False)))
    return fixes


def _multilabel(setup: TrainSetup) -> list[Fix | None]:
    task = setup.task
    if task.loss_name in BINARY_LOSSES and (task.output_activation is Activation.SIGMOID or task.from_logits):
        return []
    loss = None if task.loss_name in BINARY_LOSSES else LossSpec("binary_crossentropy", False)
    return [change_fix(setup, id="output-sigmoid",
                       title="Sigmoid outputs with binary_crossentropy for multi-label targets",
                       activation=Activation.SIGMOID, loss=loss)]
