"""What the model is trained to do, read from its output layer, its loss and its targets.

Pre-flight checks, the accuracy we track, the chance level that defines a stall, and which
fixes make sense all depend on this: a 10-class classifier, a binary one, a multi-label one,
or a regression.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from nanfix.capture.training_data import first_array
from nanfix.records import Named


class TaskKind(Named):
    """What the output is trained to do."""

    MULTICLASS = "multiclass"  # one class of several per sample
    BINARY = "binary"  # one yes/no per sample (one unit)
    MULTILABEL = "multilabel"  # several yes/no per sample
    REGRESSION = "regression"  # continuous targets


class LabelFormat(Named):
    """How the targets are written."""

    ONEHOT = "onehot"  # one 1 per row
    SPARSE = "sparse"  # class ids 0..K-1
    BINARY = "binary"  # 0/1 values (several per row for multi-label targets)
    CONTINUOUS = "continuous"  # anything else


class Activation(Named):
    """An output or hidden layer's activation, as Keras names it (`OTHER`: a function of the
    script's own)."""

    LINEAR = "linear"
    SOFTMAX = "softmax"
    SIGMOID = "sigmoid"
    TANH = "tanh"
    RELU = "relu"
    RELU6 = "relu6"
    ELU = "elu"
    SELU = "selu"
    CELU = "celu"
    LEAKY_RELU = "leaky_relu"
    PRELU = "prelu"
    GELU = "gelu"
    SILU = "silu"
    SWISH = "swish"
    MISH = "mish"
    SOFTPLUS = "softplus"
    SOFTSIGN = "softsign"
    HARD_SIGMOID = "hard_sigmoid"
    HARD_SILU = "hard_silu"
    HARD_TANH = "hard_tanh"
    EXPONENTIAL = "exponential"
    LOG_SOFTMAX = "log_softmax"
    LOG_SIGMOID = "log_sigmoid"
    OTHER = "other"

    @classmethod
    def of(cls, name: Any) -> Activation:
        """The member for an activation's name (a layer with none is linear)."""
        name = str(name or "linear").lower()
        if name in ("none", ""):
            return cls.LINEAR
        try:
            return cls(name)
        except ValueError:
            return cls.OTHER

    @property
    def relu_like(self) -> bool:
        """Zero (or nearly) below 0 and unbounded above: a unit of it can die."""
        return self in RELU_LIKE

    @property
    def saturating(self) -> bool:
        """Bounded and flat at both ends: its gradient vanishes where it saturates."""
        return self in SATURATING

    @property
    def probabilities(self) -> bool:
        """Outputs a cross-entropy can read as probabilities."""
        return self in (Activation.SOFTMAX, Activation.SIGMOID)


# Layers that shape an output without computing it: the output's activation is the one of
# the layer before them.
LAYOUT_CLASSES = ("Dropout", "Flatten", "Reshape", "SpatialDropout1D", "SpatialDropout2D",
                  "GaussianNoise", "GaussianDropout", "AlphaDropout")

RELU_LIKE = frozenset({Activation.RELU, Activation.RELU6, Activation.ELU, Activation.SELU,
                       Activation.CELU, Activation.LEAKY_RELU, Activation.PRELU, Activation.GELU,
                       Activation.SILU, Activation.SWISH, Activation.MISH})
SATURATING = frozenset({Activation.SIGMOID, Activation.TANH, Activation.HARD_SIGMOID,
                        Activation.SOFTSIGN})

CATEGORICAL_LOSSES = {"categorical_crossentropy", "categoricalcrossentropy", "categorical_focal_crossentropy"}
SPARSE_LOSSES = {"sparse_categorical_crossentropy", "sparsecategoricalcrossentropy"}
BINARY_LOSSES = {"binary_crossentropy", "binarycrossentropy", "binary_focal_crossentropy"}
REGRESSION_LOSSES = {
    "mean_squared_error", "mse", "meansquarederror", "mean_absolute_error", "mae",
    "meanabsoluteerror", "huber", "huber_loss", "log_cosh", "logcosh", "mean_squared_logarithmic_error",
    "msle", "mean_absolute_percentage_error", "mape",
}


@dataclass
class Task:
    kind: TaskKind
    classes: int  # output units (1 for binary / regression)
    loss_name: str  # normalised name, or "custom"
    from_logits: bool
    output_activation: Activation
    label_format: LabelFormat
    chance_accuracy: float | None  # the majority-class rate
    chance_loss: float | None  # the loss of a uniform guess, where it is known
    custom_loss_source: str | None = None
    # a model with several outputs: one Task per output (`heads`), and the whole task is the
    # first classifying output's (its accuracy is the one tracked), with no chance loss, as
    # the trained loss is the weighted sum over every output
    output_index: int = 0
    output_name: str | None = None
    outputs: list[Task] = field(default_factory=list)

    @property
    def is_classification(self) -> bool:
        return self.kind is not TaskKind.REGRESSION

    def at_chance_loss(self, loss: float | None, tolerance: float) -> bool:
        """The loss is within `tolerance` (relative) of a uniform guess's: nothing learned."""
        return bool(self.chance_loss) and loss is not None and \
            abs(loss - self.chance_loss) <= tolerance * self.chance_loss

    def chance_loss_text(self, loss: float) -> str:
        classes = max(self.classes, 2) if self.kind is TaskKind.MULTICLASS else 2
        return f"loss flat at chance level ({loss:.4f} ~ ln({classes}) = {self.chance_loss:.4f})"

    def describe(self) -> dict[str, Any]:
        if self.outputs:
            return {**self._describe(), "output": self.output_name,
                    "outputs": [{"name": head.output_name, **head._describe()} for head in self.outputs]}
        return self._describe()

    def _describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "classes": self.classes,
            "loss": self.loss_name,
            "from_logits": self.from_logits,
            "output_activation": self.output_activation.value,
            "label_format": self.label_format.value,
            "chance_accuracy": self.chance_accuracy,
        }


def loss_name(loss: Any) -> str:
    if loss is None:
        return "none"
    if isinstance(loss, str):
        return loss.lower()
    if isinstance(loss, (list, tuple, dict)):
        return "multiple"
    name = getattr(loss, "name", None) or getattr(loss, "__name__", None) or type(loss).__name__
    name = str(name).lower()
    # keras.losses.categorical_crossentropy (the function) and CategoricalCrossentropy() alike
    compact = name.replace("_", "")
    for known in CATEGORICAL_LOSSES | SPARSE_LOSSES | BINARY_LOSSES | REGRESSION_LOSSES:
        if compact == known.replace("_", ""):
            return known if "_" in known else name
    module = getattr(loss, "__module__", "") or ""
    if module.startswith("keras"):
        return name
    return "custom"


def loss_from_logits(loss: Any) -> bool:
    config = getattr(loss, "get_config", None)
    if callable(config):
        try:
            return bool(config().get("from_logits", False))
        except Exception:  # noqa: BLE001 - a custom loss' get_config can be anything
            return False
    return False


def layer_activation(layer: Any) -> str:
    activation = getattr(layer, "activation", None)
    if activation is None:
        name = type(layer).__name__.lower()
        return {"softmax": "softmax", "relu": "relu", "leakyrelu": "leaky_relu"}.get(name, "none")
    return getattr(activation, "__name__", str(activation)).lower()


def output_layer(model: Any) -> Any:
    """The last layer that shapes the output (an Activation layer after a Dense counts)."""
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    return layers[-1] if layers else None


def inputs_are_ids(model: Any) -> bool:
    """The (first) input feeds an Embedding: its values are token or category ids, not
    features, so they are neither scaled nor judged by their magnitude."""
    layers = [layer for layer in getattr(model, "layers", []) if type(layer).__name__ != "InputLayer"]
    if layers and type(layers[0]).__name__ == "Embedding":
        return True
    try:
        first_input = model.inputs[0]
    except (AttributeError, IndexError, TypeError, ValueError):
        return False
    for layer in layers:
        if type(layer).__name__ != "Embedding":
            continue
        try:
            if layer.input is first_input:
                return True
        except (AttributeError, ValueError):
            continue
    return False


def output_activation(model: Any) -> Activation:
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    for layer in reversed(layers):
        kind = type(layer).__name__
        if kind in LAYOUT_CLASSES:
            continue
        return _activation_of(layer)
    return Activation.LINEAR


def infer(model: Any, loss: Any, y: Any) -> Task:
    """The task of the model's output; for several outputs, each one's and the whole's."""
    heads = output_heads(model, loss, y)
    if len(heads) < 2:
        return infer_output(output_activation(model), _units(model, 0), loss, y)
    tasks = [replace(infer_output(head.activation, head.units, head.loss, head.y),
                     output_index=index, output_name=head.name)
             for index, head in enumerate(heads)]
    main = next((task for task in tasks if task.is_classification), tasks[0])
    return replace(main, chance_loss=None, outputs=tasks)


@dataclass
class Head:
    """One output of a model with several: its name, layer, loss and targets."""

    name: str
    layer: Any
    activation: Activation
    units: int
    loss: Any
    y: Any


def output_heads(model: Any, loss: Any, y: Any) -> list[Head]:
    """The outputs of a functional model with more than one ([] otherwise), each with the
    loss and targets that `compile` and `fit` gave it (by the output's name or position)."""
    try:
        tensors = list(model.outputs)
    except (AttributeError, TypeError, ValueError):  # a subclassed model
        return []
    if len(tensors) < 2:
        return []
    struct = getattr(model, "_outputs_struct", None)
    keys = list(struct) if isinstance(struct, dict) else [None] * len(tensors)
    names = list(getattr(model, "output_names", None) or [])
    heads = []
    for index, tensor in enumerate(tensors):
        layer = tensor._keras_history[0]
        name = keys[index] or (names[index] if index < len(names) else layer.name)
        heads.append(Head(name=name, layer=layer, activation=_activation_of(layer),
                          units=int(tensor.shape[-1]) if tensor.shape and tensor.shape[-1] else 1,
                          loss=_pick(loss, index, (name, layer.name)),
                          y=_pick(y, index, (name, layer.name))))
    return heads


def _pick(nest: Any, index: int, names: tuple[str, ...]) -> Any:
    """Output `index`'s entry of a per-output argument (a dict by name, a list by position,
    or one value shared by every output)."""
    if isinstance(nest, dict):
        return next((nest[name] for name in names if name in nest), None)
    if isinstance(nest, (list, tuple)):
        return nest[index] if index < len(nest) else None
    return nest


def _activation_of(layer: Any) -> Activation:
    kind = type(layer).__name__
    if kind == "Softmax":
        return Activation.SOFTMAX
    return Activation.of(layer_activation(layer)) if hasattr(layer, "activation") else Activation.LINEAR


def _units(model: Any, index: int) -> int | None:
    try:
        return int(model.outputs[index].shape[-1])
    except Exception:  # noqa: BLE001 - subclassed models have no symbolic outputs
        return None


def infer_output(activation: Activation, model_units: int | None, loss: Any, y: Any) -> Task:
    """The task of one output: what its activation, units, loss and targets say it is."""
    name = loss_name(loss)
    logits = loss_from_logits(loss)
    y = np.asarray(first_array(y))
    units = int(y.shape[-1]) if y.ndim > 1 else 1
    if model_units:
        units = model_units

    label_format = _label_format(y, units)
    if name in SPARSE_LOSSES or (label_format is LabelFormat.SPARSE and units > 1):
        kind = TaskKind.MULTICLASS
    elif name in CATEGORICAL_LOSSES:
        kind = TaskKind.MULTICLASS
    elif name in BINARY_LOSSES:
        kind = TaskKind.BINARY if units == 1 else (
            TaskKind.MULTICLASS if label_format is LabelFormat.ONEHOT else TaskKind.MULTILABEL)
    elif label_format is LabelFormat.ONEHOT:
        kind = TaskKind.MULTICLASS  # e.g. MSE on one-hot targets: still a classifier
    elif label_format is LabelFormat.BINARY:
        kind = TaskKind.BINARY if units == 1 else TaskKind.MULTILABEL
    else:
        kind = TaskKind.REGRESSION
    if name == "custom" and label_format is LabelFormat.ONEHOT:
        kind = TaskKind.MULTICLASS

    chance_accuracy, chance_loss = _chance(kind, y, units, label_format)
    return Task(
        kind=kind,
        classes=units,
        loss_name=name,
        from_logits=logits,
        output_activation=activation,
        label_format=label_format,
        chance_accuracy=chance_accuracy,
        chance_loss=chance_loss,
        custom_loss_source=_source(loss) if name == "custom" else None,
    )


def _label_format(y: np.ndarray, units: int) -> LabelFormat:
    if not np.issubdtype(y.dtype, np.number) and y.dtype != bool:
        return LabelFormat.CONTINUOUS
    finite = y[np.isfinite(y)] if np.issubdtype(y.dtype, np.floating) else y
    if finite.size == 0:
        return LabelFormat.CONTINUOUS
    whole = np.all(np.equal(np.mod(finite, 1), 0))
    binary = whole and set(np.unique(finite[:10000]).tolist()) <= {0, 1}
    if y.ndim > 1 and y.shape[-1] > 1:
        if binary:
            sums = np.asarray(y).reshape(-1, y.shape[-1]).sum(axis=-1)
            return LabelFormat.ONEHOT if np.allclose(sums[np.isfinite(sums)], 1.0) else LabelFormat.BINARY
        return LabelFormat.CONTINUOUS
    if binary:  # one 0/1 value per sample: a yes/no label for one unit, a class id for several
        return LabelFormat.SPARSE if units > 1 else LabelFormat.BINARY
    if whole and finite.min() >= 0 and units > 1:
        return LabelFormat.SPARSE
    return LabelFormat.CONTINUOUS


SQUARED_LOSSES = {"mean_squared_error", "mse", "meansquarederror"}
ABSOLUTE_LOSSES = {"mean_absolute_error", "mae", "meanabsoluteerror"}


def constant_guess_loss(task: Task, y: Any) -> float | None:
    """A regression's loss when it predicts the best constant (the mean for squared error, the
    median for absolute error) on targets `y`: a model that does no better learned nothing
    about its inputs. None where the loss is not one of those two."""
    if task.kind is not TaskKind.REGRESSION or isinstance(y, (list, tuple, dict)):
        return None
    y = np.asarray(y, dtype=np.float64)
    if y.size == 0:
        return None
    rows = y.reshape(y.shape[0], -1)
    rows = rows[np.isfinite(rows).all(axis=1)]
    if rows.shape[0] < 2:
        return None
    if task.loss_name in SQUARED_LOSSES:
        return float(np.mean((rows - rows.mean(axis=0)) ** 2))
    if task.loss_name in ABSOLUTE_LOSSES:
        return float(np.mean(np.abs(rows - np.median(rows, axis=0))))
    return None


def _chance(kind: TaskKind, y: np.ndarray, units: int, label_format: LabelFormat):
    if kind is TaskKind.REGRESSION:
        return None, None
    if kind is TaskKind.MULTICLASS:
        if label_format is LabelFormat.ONEHOT:
            ids = np.argmax(y.reshape(-1, y.shape[-1]), axis=-1)
        else:
            ids = y.reshape(-1).astype("int64")
        counts = np.bincount(ids[ids >= 0]) if ids.size else np.array([1])
        return float(counts.max() / max(1, counts.sum())), math.log(max(units, 2))
    flat = y.reshape(-1)
    rate = float(np.mean(flat[np.isfinite(flat)] > 0.5)) if flat.size else 0.5
    return max(rate, 1.0 - rate), math.log(2.0)


def _source(loss: Any) -> str | None:
    target = loss if inspect.isfunction(loss) else getattr(loss, "fn", None) or type(loss)
    try:
        return inspect.getsource(target)
    except (OSError, TypeError):
        return None
