"""Pre-flight rules on how the output layer and the loss fit together.

A cross-entropy needs the output it was written for: softmax probabilities (or logits with
from_logits=True) for the categorical ones, a sigmoid (or logits) for the binary one. Most
"loss stuck at 2.3026" and "loss: nan from the first epoch" pages are one of these pairings.
"""

from __future__ import annotations

import inspect
import os
import re
from typing import Any

import numpy as np

from nanfix.capture.task import Activation, LabelFormat, TaskKind, output_layer
from nanfix.findings.catalog import Context, rule
from nanfix.findings.labels import ACTIVATION_RANGES, ONE_OF_K, LossFamily, loss_family
from nanfix.findings.model import origin_of, output_units, single_output
from nanfix.records import Severity, Stage


def _activation(context: Context) -> Activation:
    return Activation.of(context.task.output_activation)


def _output_where(context: Context) -> str | None:
    return origin_of(output_layer(context.model)) or context.origin("compile")


def _hidden_by_keras3(activation: Activation, loss: str) -> str:
    """What Keras 3 does with a cross-entropy behind a sigmoid or softmax, said plainly."""
    if not activation.probabilities:
        return ""
    return (f". Keras 3 hides this: it computes {loss} from the logits behind the {activation} "
            "(as if from_logits=True), so the script may train here, yet it is wrong: the "
            f"model's predictions are {activation} outputs, not what the loss scored, and Keras 2 "
            "(tf.keras) or another framework computes the loss on them and trains badly")


@rule("P301", "output-loss-mismatch", "Output activation does not match the loss", Severity.ERROR,
      stage=Stage.PREFLIGHT)
def output_loss_mismatch(context: Context):
    """
    ## What it means
    The output activation does not fit the cross-entropy (with from_logits=False): a categorical or
    sparse categorical cross-entropy behind an output that is not a softmax, or binary cross-entropy
    behind one that is not a sigmoid (a softmax there is a warning).

    ## Why it matters
    Categorical cross-entropy expects a softmax (rows summing to 1), binary cross-entropy a sigmoid
    (values in 0..1). Keras clips other outputs to [1e-7, 1 - 1e-7], so linear or relu outputs beyond
    that get no gradient: training stalls at the uniform-guess loss (2.3026 for ten classes) or goes
    NaN. Keras 3 hides one form: behind any sigmoid or softmax it computes the loss from the logits
    underneath, so categorical cross-entropy behind a sigmoid trains here; the predictions are still
    sigmoid outputs that do not sum to 1, and Keras 2 (tf.keras) trains on them and stalls.

    ## How to fix
    Use the matching output activation (softmax for one-of-K, sigmoid for binary/multi-label), or a
    linear output with from_logits=True, which is also more stable.

    ## Example
    ```python
    keras.layers.Dense(10, activation="sigmoid")  # before, with loss="categorical_crossentropy"
    keras.layers.Dense(10, activation="softmax")  # after
    ```
    """
    task = context.task
    family = loss_family(task)
    if (
        not single_output(context.model)
        or task.from_logits
        or family not in (*ONE_OF_K, LossFamily.BINARY)
    ):
        return None
    activation = _activation(context)
    units = output_units(context.model) or task.classes
    if activation is Activation.SOFTMAX and units == 1:
        return None  # P302
    if family in ONE_OF_K and activation is not Activation.SOFTMAX:
        return context.finding(
            f"the output layer uses {activation} but {task.loss_name} expects a softmax "
            "distribution: use activation='softmax', or a linear output with "
            f"from_logits=True{_hidden_by_keras3(activation, task.loss_name)}",
            where=_output_where(context),
            activation=activation,
            loss=task.loss_name,
            from_logits=False,
            output_units=units,
        )
    if family is LossFamily.BINARY and activation is Activation.SOFTMAX:
        return context.finding(
            f"a softmax over {units} units with {task.loss_name}: for one-of-K "
            "classes use categorical_crossentropy, for independent labels use sigmoid"
            f"{_hidden_by_keras3(activation, task.loss_name)}",
            where=_output_where(context),
            severity=Severity.WARNING,
            activation=activation,
            loss=task.loss_name,
            from_logits=False,
            output_units=units,
        )
    if family is LossFamily.BINARY and activation is not Activation.SIGMOID:
        return context.finding(
            f"the output layer uses {activation} but {task.loss_name} expects "
            "probabilities in 0..1: use activation='sigmoid', or a linear output with "
            "from_logits=True",
            where=_output_where(context),
            activation=activation,
            loss=task.loss_name,
            from_logits=False,
            output_units=units,
        )
    return None


@rule("P302", "softmax-single-unit", "Softmax over a single unit", Severity.ERROR,
      stage=Stage.PREFLIGHT,
      voids_task=True)
def softmax_single_unit(context: Context):
    """
    ## What it means
    The output layer applies softmax to a single unit.

    ## Why it matters
    A softmax normalises its inputs so that they sum to 1; over a single unit that is always exactly
    1.0, whatever the input. The model's prediction never changes, its gradient is zero, and nothing
    is learned, while the loss prints a calm constant and accuracy sits at the share of one class.

    ## How to fix
    For a binary task use Dense(1, activation="sigmoid") with binary_crossentropy; for K classes use
    Dense(K, activation="softmax"); for regression use a linear output.

    ## Example
    ```python
    keras.layers.Dense(1, activation="softmax")  # before
    keras.layers.Dense(1, activation="sigmoid")  # after, with loss="binary_crossentropy"
    ```
    """
    units = output_units(context.model)
    if not single_output(context.model) or _activation(context) is not Activation.SOFTMAX or units != 1:
        return None
    layer = output_layer(context.model)
    suggestion = (
        "Dense(1, activation='sigmoid')"
        if loss_family(context.task) in (LossFamily.BINARY, LossFamily.OTHER) or context.task.kind is TaskKind.BINARY
        else "a softmax over one unit per class"
    )
    if context.task.kind is TaskKind.REGRESSION:
        suggestion = "a linear output"
    return context.finding(
        f"the output layer {getattr(layer, 'name', '?')} applies softmax to a single "
        f"unit, which always outputs 1.0: use {suggestion}",
        where=origin_of(layer),
        layer=getattr(layer, "name", None),
        output_units=units,
        loss=context.task.loss_name,
    )


@rule("P303", "softmax-with-from-logits", "Probabilities passed to a loss that expects logits",
      Severity.ERROR, stage=Stage.PREFLIGHT)
def softmax_with_from_logits(context: Context):
    """
    ## What it means
    The loss was configured with from_logits=True, so it applies its own softmax (or sigmoid) to the
    model's outputs, but the output layer already applies one. A softmax output is an error, a
    sigmoid output a warning.

    ## Why it matters
    Taken at its word, the loss sees a softmax of probabilities: every value squashed into 0..1,
    nearly uniform after the second softmax, so the predictions cannot become confident, the
    gradients are weak, and the loss stalls well above 0 (near ln K for K classes); a sigmoid twice
    confines predictions to 0.5..0.73. Keras 3 on TensorFlow hides this: it warns ("received
    `from_logits=True`, but the `output` argument was produced by a Softmax activation") and computes
    the loss from the logits behind the activation, so the script may train here; Keras 2 (tf.keras),
    the other Keras 3 backends, and any code that treats the predictions as logits apply it twice.

    ## How to fix
    Remove the output activation (Dense(K) with no activation) and keep from_logits=True, the stable
    choice, or keep the activation and set from_logits=False.

    ## Example
    ```python
    keras.layers.Dense(10, activation="softmax")  # before, with from_logits=True in the loss
    keras.layers.Dense(10)  # after: the loss applies the softmax itself
    ```
    """
    activation = _activation(context)
    if not single_output(context.model) or not context.task.from_logits:
        return None
    if not activation.probabilities:
        return None
    severity = Severity.ERROR if activation is Activation.SOFTMAX else Severity.WARNING
    return context.finding(
        f"the output layer applies {activation} and the loss {context.task.loss_name} "
        f"applies it again (from_logits=True): drop the output activation, or set "
        "from_logits=False",
        where=context.origin("compile") or _output_where(context),
        severity=severity,
        activation=activation,
        loss=context.task.loss_name,
        from_logits=True,
    )


# --- P304: a hand-written loss that takes log() of the prediction ------------------------------

LOG_CALL = re.compile(r"\blog\s*\(")
CLIPPED = re.compile(r"clip|maximum\s*\(")
EPSILON_ADDED = re.compile(r"\+\s*(\d*\.?\d+e-\d+|eps\w*|[\w.]*epsilon\s*\(\s*\))", re.IGNORECASE)
SIGNATURE = re.compile(r"def\s+\w+\s*\(([^)]*)\)")
ASSIGNMENT = re.compile(r"^\s*(\w+)\s*=(?!=)\s*(.+)$", re.MULTILINE)


def _loss_target(loss: Any) -> Any:
    return loss if inspect.isfunction(loss) else getattr(loss, "fn", None) or type(loss)


def _loss_source(context: Context) -> tuple[str | None, str | None, int | None]:
    """The loss' source, the file it came from and its first line (both None when unknown)."""
    target = _loss_target(context.loss)
    try:
        lines, start = inspect.getsourcelines(target)
        return "".join(lines), inspect.getsourcefile(target), start
    except (OSError, TypeError):
        return getattr(context.task, "custom_loss_source", None), None, None


def _argument(source: str, open_paren: int) -> str:
    depth = 0
    for index in range(open_paren, len(source)):
        if source[index] == "(":
            depth += 1
        elif source[index] == ")":
            depth -= 1
            if depth == 0:
                return source[open_paren + 1 : index]
    return source[open_paren + 1 :]


def _parameters(source: str) -> tuple[str, str]:
    """The names of (targets, predictions): the first def with two arguments besides self."""
    for match in SIGNATURE.finditer(source):
        names = []
        for part in match.group(1).split(","):
            name = part.split(":")[0].split("=")[0].strip().lstrip("*")
            if name and name != "self":
                names.append(name)
        if len(names) >= 2:
            return names[0], names[1]
    return "y_true", "y_pred"


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", text) is not None


def _expanded(argument: str, code: str, before: int) -> tuple[str, list[str]]:
    """The argument plus what its names were assigned earlier (`p = clip(y_pred); log(p)`),
    and those assignments."""
    assigned: dict[str, list[str]] = {}
    for match in ASSIGNMENT.finditer(code[:before]):
        assigned.setdefault(match.group(1), []).append(match.group(2))
    text, seen, used = argument, set(), []
    for _ in range(3):  # a few hops of p = ...; q = f(p); log(q)
        names = (set(re.findall(r"\b[A-Za-z_]\w*\b", text)) & set(assigned)) - seen
        if not names:
            break
        seen |= names
        used += [f"{name} = {value.strip()}" for name in sorted(names) for value in assigned[name]]
        text = " ".join([argument, *used])
    return text, used


def unsafe_logs(source: str, output_can_be_negative: bool) -> list[dict[str, Any]]:
    """Each log() call on something other than the targets alone: 'bare', 'clipped' or
    'epsilon' (log(p + eps) of an output that can be negative)."""
    code = "\n".join(line.split("#", 1)[0] for line in source.splitlines())
    targets, predictions = _parameters(code)
    found = []
    for match in LOG_CALL.finditer(code):
        argument = _argument(code, match.end() - 1)
        meaning, assignments = _expanded(argument, code, match.start())
        if _mentions(meaning, targets) and not _mentions(meaning, predictions):
            continue  # log(1 + y_true) and the like: not the prediction
        via = next((line for line in assignments if CLIPPED.search(line)), None)
        if CLIPPED.search(meaning):
            kind = "clipped"
        elif EPSILON_ADDED.search(meaning):
            if not output_can_be_negative:
                continue  # log(p + eps) of a non-negative output is finite
            kind = "epsilon"
        else:
            kind = "bare"
        found.append(
            {
                "kind": kind,
                "expression": " ".join(f"log({argument})".split())[:120],
                "clipped_by": None if kind != "clipped" or CLIPPED.search(argument) else via,
                "line": code[: match.start()].count("\n"),
            }
        )
    return found


@rule("P304", "unsafe-log-in-loss", "Hand-written loss takes log() of the prediction",
      Severity.ERROR, stage=Stage.PREFLIGHT)
def unsafe_log_in_loss(context: Context):
    """
    ## What it means
    A hand-written loss computes log() of the model's output (not of the targets alone). A bare log is
    an error; a log of a clipped prediction, or log(p + eps) of an output that can be negative, is a
    warning. log(p + eps) of an output that cannot be negative is not reported.

    ## Why it matters
    A softmax or sigmoid output underflows to exactly 0 in float32 for a confident wrong prediction
    (a linear one can go negative): log(0) is -inf and its gradient Inf, and the next update turns
    every weight NaN, so the log prints `loss: nan`. Clipping the argument (tf.clip_by_value(p, 1e-8,
    1.0)) hides the NaN, but wherever the prediction is clipped the gradient is exactly 0: the loss
    still prints numbers while those samples teach nothing, and training can stall.

    ## How to fix
    Compute the loss from logits: a linear output with CategoricalCrossentropy(from_logits=True), or
    log_softmax / tf.nn.softmax_cross_entropy_with_logits, which never take log(0). nanfix measures
    the matching built-in Keras loss in place of the hand-written one.

    ## Example
    ```python
    loss = lambda y, p: -tf.reduce_sum(y * tf.math.log(p), axis=-1)  # before
    keras.layers.Dense(10)  # after: a linear output
    loss = keras.losses.CategoricalCrossentropy(from_logits=True)  # after
    ```
    """
    if context.task.loss_name != "custom":
        return None
    source, filename, start = _loss_source(context)
    if not source:
        return None
    low = ACTIVATION_RANGES.get(_activation(context), (None, None))[0]
    calls = unsafe_logs(source, output_can_be_negative=low is None or low < 0)
    if not calls:
        return None
    worst = next((call for call in calls if call["kind"] == "bare"), calls[0])
    where = (
        f"{os.path.basename(filename)}:{start + worst['line']}"
        if filename and start
        else context.origin("compile")
    )
    if worst["kind"] == "clipped":
        severity = Severity.WARNING
        taken = worst["expression"] + (
            f" after {worst['clipped_by']}" if worst["clipped_by"] else ""
        )
        message = (
            f"the loss takes {taken}: the clip hides the NaN but cuts the gradient "
            "wherever the prediction is clipped, so nothing may be learned; compute the loss "
            "from logits (from_logits=True) instead"
        )
    elif worst["kind"] == "epsilon":
        severity = Severity.WARNING
        message = (
            f"the loss takes {worst['expression']} of a {_activation(context)} output, which can "
            "be negative: log of a negative number is NaN"
        )
    else:
        severity = Severity.ERROR
        message = (
            f"the loss takes {worst['expression']}: a prediction of exactly 0 gives -inf and a NaN "
            "gradient; compute the loss from logits (from_logits=True) instead"
        )
    return context.finding(
        message,
        where=where,
        severity=severity,
        expression=worst["expression"],
        kind=worst["kind"],
        clipped_by=worst["clipped_by"],
        log_calls=len(calls),
        activation=_activation(context),
        loss_function=getattr(_loss_target(context.loss), "__name__", None),
    )


@rule("P305", "mse-on-classifier", "Squared/absolute error used to train a classifier",
      Severity.INFO, stage=Stage.PREFLIGHT)
def mse_on_classifier(context: Context):
    """
    ## What it means
    The targets are class labels (one-hot rows or 0/1) but the loss is a regression loss (mean
    squared or absolute error), with a softmax, sigmoid or linear output.

    ## Why it matters
    It works, but slowly: with a softmax or sigmoid output the MSE gradient shrinks as the output
    saturates, exactly when a prediction is confidently wrong, so learning crawls; with a linear
    output it wastes effort pushing scores to exactly 0 and 1. The log shows a loss that falls
    slowly and an accuracy that lags what cross-entropy reaches in the same epochs.

    ## How to fix
    Use cross-entropy: softmax + categorical_crossentropy for one-hot rows, sigmoid +
    binary_crossentropy for 0/1 labels.

    ## Example
    ```python
    model.compile(optimizer="adam", loss="mse")  # before: one-hot labels, softmax output
    model.compile(optimizer="adam", loss="categorical_crossentropy")  # after
    ```
    """
    task = context.task
    activation = _activation(context)
    if not single_output(context.model) or loss_family(task) is not LossFamily.REGRESSION:
        return None
    if task.label_format not in (LabelFormat.ONEHOT, LabelFormat.BINARY):
        return None
    if not (activation.probabilities or activation is Activation.LINEAR):
        return None
    better = (
        "softmax + categorical_crossentropy"
        if task.label_format is LabelFormat.ONEHOT
        else "sigmoid + binary_crossentropy"
    )
    return context.finding(
        f"{task.loss_name} on {task.label_format} class labels with a {activation} "
        f"output trains slowly: use {better}",
        where=context.origin("compile"),
        loss=task.loss_name,
        label_format=task.label_format,
        activation=activation,
    )


@rule("P306", "loss-target-mismatch", "Multi-label targets under a one-class loss", Severity.ERROR,
      stage=Stage.PREFLIGHT)
def multilabel_under_categorical(context: Context):
    """
    ## What it means
    The targets are multi-label rows (0/1 rows with several 1s per sample: tags, attributes) but the
    loss is a categorical cross-entropy, which assumes exactly one class per sample.

    ## Why it matters
    Categorical cross-entropy goes with a softmax that shares one unit of probability among the
    classes. The classes compete for it, so the model cannot say "yes" to two labels at once: the
    loss stays high and the per-label accuracy is poor. Keras 3 does not complain.

    ## How to fix
    Give each label its own sigmoid and use binary_crossentropy: Dense(K, activation="sigmoid") with
    loss="binary_crossentropy" (and metrics such as keras.metrics.BinaryAccuracy).

    ## Example
    ```python
    keras.layers.Dense(20, activation="softmax")  # before, with loss="categorical_crossentropy"
    keras.layers.Dense(20, activation="sigmoid")  # after
    model.compile(optimizer="adam", loss="binary_crossentropy",  # after
                  metrics=[keras.metrics.BinaryAccuracy()])
    ```
    """
    task = context.task
    if not single_output(context.model) or loss_family(task) not in ONE_OF_K:
        return None
    if task.label_format is not LabelFormat.BINARY or (task.classes or 1) < 2:
        return None
    y = context.y_array()
    if y.ndim < 2 or y.shape[-1] != task.classes:
        return None  # one value per sample (class ids): never multi-hot rows
    y = y.reshape(-1, task.classes)
    per_row = y.sum(axis=1)
    several = int((per_row > 1).sum())
    if several == 0:
        return None
    return context.finding(
        f"{several} of {y.shape[0]} target rows have several 1s (up to {int(per_row.max())}: "
        f"multi-label) but the loss is {task.loss_name}, which assumes one class per sample: "
        "use sigmoid outputs with binary_crossentropy",
        where=context.origin("compile"),
        rows_with_several=several,
        loss=task.loss_name,
    )


@rule("P307", "categorical-loss-single-unit", "A one-of-K loss over a single output unit",
      Severity.ERROR, stage=Stage.PREFLIGHT,
      voids_task=True)
def categorical_loss_single_unit(context: Context):
    """
    ## What it means
    A categorical or sparse categorical cross-entropy is computed over a single output unit that is
    not a softmax (a softmax over one unit is P302).

    ## Why it matters
    Categorical cross-entropy compares a distribution over K classes with the label; over one output
    unit that distribution is always [1.0] (Keras normalises the row to sum to 1), so the loss is
    exactly 0 for every sample, whatever the model outputs, and no gradient reaches the weights. The
    curve looks calm (`loss: 0.0000`), the accuracy sits at chance. A sparse categorical loss over
    one unit accepts only the class id 0.

    ## How to fix
    For two classes use one sigmoid unit with binary_crossentropy, or two softmax units with
    (sparse_)categorical_crossentropy.

    ## Example
    ```python
    keras.layers.Dense(1, activation="sigmoid")  # unchanged: one output unit
    model.compile(optimizer="adam", loss="categorical_crossentropy")  # before
    model.compile(optimizer="adam", loss="binary_crossentropy")  # after
    ```
    """
    task = context.task
    if not single_output(context.model) or loss_family(task) not in ONE_OF_K:
        return None
    units = output_units(context.model)
    if units != 1 or _activation(context) is Activation.SOFTMAX:
        return None  # softmax on one unit: P302
    classes = _class_count(context)
    advice = (f"the targets hold {classes} classes: use Dense({classes}, activation='softmax') with "
              "sparse_categorical_crossentropy" if classes and classes > 2 else
              "use one sigmoid unit with binary_crossentropy, or two softmax units")
    return context.finding(
        f"{task.loss_name} over a single output unit is 0 whatever the model predicts: {advice}",
        where=context.origin("compile"),
        loss=task.loss_name,
        output_units=units,
        classes=classes,
    )


def _class_count(context: Context) -> int | None:
    """How many classes integer targets 0..K-1 hold (None for other targets)."""
    y = np.asarray(context.y_array(), dtype=np.float64).reshape(-1)
    y = y[np.isfinite(y)]
    if y.size == 0 or not np.all(np.mod(y, 1) == 0) or y.min() < 0:
        return None
    return int(y.max()) + 1
