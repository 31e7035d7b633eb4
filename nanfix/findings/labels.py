"""Pre-flight rules on labels and targets: do they have the format the loss expects, are the
class ids in range, are they class ids at all, and can the output layer produce them?

Each rule owns one question so that one mistake gives one finding: one-hot vs class-id
format (L201), ids or widths that do not fit the output (L202), values that are not labels
(L203), and targets outside what the output activation or the loss can produce (L204).
"""

from __future__ import annotations

import numpy as np

from nanfix.capture.task import (
    BINARY_LOSSES,
    CATEGORICAL_LOSSES,
    REGRESSION_LOSSES,
    SPARSE_LOSSES,
    Activation,
    LabelFormat,
    output_layer,
)
from nanfix.findings.arrays import SHOWN, target_statistics
from nanfix.findings.catalog import Context, rule
from nanfix.findings.model import origin_of, output_rank, output_units, single_output
from nanfix.records import Named, Severity, Stage

# What each output activation can produce (None: unbounded on that side).
ACTIVATION_RANGES = {
    Activation.SIGMOID: (0.0, 1.0),
    Activation.HARD_SIGMOID: (0.0, 1.0),
    Activation.SOFTMAX: (0.0, 1.0),
    Activation.TANH: (-1.0, 1.0),
    Activation.HARD_TANH: (-1.0, 1.0),
    Activation.SOFTSIGN: (-1.0, 1.0),
    Activation.RELU: (0.0, None),
    Activation.SOFTPLUS: (0.0, None),
    Activation.EXPONENTIAL: (0.0, None),
    Activation.RELU6: (0.0, 6.0),
    Activation.ELU: (-1.0, None),
    Activation.SELU: (-1.7581, None),
}


class LossFamily(Named):
    """What kind of target a loss reads."""

    SPARSE = "sparse"  # one class id per sample
    CATEGORICAL = "categorical"  # one-hot rows
    BINARY = "binary"  # probabilities of independent yes/no labels
    REGRESSION = "regression"  # values
    OTHER = "other"  # a hand-written or unknown loss


ONE_OF_K = (LossFamily.SPARSE, LossFamily.CATEGORICAL)


def loss_family(task) -> LossFamily:
    """The family of the task's loss."""
    name = getattr(task, "loss_name", "")
    if name in SPARSE_LOSSES:
        return LossFamily.SPARSE
    if name in CATEGORICAL_LOSSES:
        return LossFamily.CATEGORICAL
    if name in BINARY_LOSSES:
        return LossFamily.BINARY
    if name in REGRESSION_LOSSES:
        return LossFamily.REGRESSION
    return LossFamily.OTHER


def _targets(context: Context) -> np.ndarray | None:
    if not single_output(context.model):
        return None
    y = context.y_array()
    if y.size == 0 or not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        return None
    return y


def _one_hot_shaped(y: np.ndarray, context: Context) -> bool:
    """Targets with one column per class: same rank as the output and more than one column."""
    return y.ndim == output_rank(context.model) and y.shape[-1] > 1


def _id_shaped(y: np.ndarray, context: Context) -> bool:
    """Targets with one value per sample: one rank less than the output, or a last axis of 1."""
    return y.ndim == output_rank(context.model) - 1 or (y.ndim >= 1 and y.shape[-1] == 1)


def _finite(y: np.ndarray) -> np.ndarray:
    flat = np.asarray(y, dtype=np.float64).reshape(-1)
    return flat[np.isfinite(flat)]


def _rows_where(mask: np.ndarray) -> list[int]:
    rows = mask.reshape(mask.shape[0], -1).any(axis=1) if mask.ndim > 1 else mask
    return [int(row) for row in np.flatnonzero(rows)[:SHOWN]]


@rule("L201", "label-format-mismatch", "Labels are not in the format the loss expects",
      Severity.ERROR, stage=Stage.PREFLIGHT,
      voids_task=True)
def label_format_mismatch(context: Context):
    """
    ## What it means
    The labels are in the other format from the one the loss expects: one-hot rows under
    sparse_categorical_crossentropy, or one value per sample (class ids) under
    categorical_crossentropy on an output of several units.

    ## Why it matters
    Keras has two cross-entropies for one-of-K classification and they want different labels:
    categorical_crossentropy wants one-hot rows (shape (n, K)), sparse_categorical_crossentropy wants
    one integer class id per sample (shape (n,) or (n, 1)). Given the other format, Keras 3 stops at
    the first batch with a shape ValueError ("must have the same rank", "must have the same shape",
    "must have rank (ndim) `target.ndim - 1`"), so nothing is trained.

    ## How to fix
    Change the loss to match the labels (the simplest fix, and the one nanfix measures), or convert
    the labels: keras.utils.to_categorical(y, K) gives one-hot rows, np.argmax(y, axis=-1) gives
    class ids.

    ## Example
    ```python
    model.compile(optimizer="adam", loss="categorical_crossentropy")  # before: y holds class ids
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")  # after
    ```
    """
    y = _targets(context)
    family = loss_family(context.task)
    if y is None or family not in ONE_OF_K:
        return None
    units = output_units(context.model)
    where = context.origin("compile")
    if family is LossFamily.SPARSE and _one_hot_shaped(y, context):
        return context.finding(
            f"targets have shape {list(y.shape)} (one-hot rows of width {y.shape[-1]}) "
            f"but the loss is {context.task.loss_name}, which wants one class id per sample: "
            "use categorical_crossentropy, or pass np.argmax(y, axis=-1)",
            where=where,
            y_shape=list(y.shape),
            loss=context.task.loss_name,
            output_units=units,
            expected="class ids",
        )
    if family is LossFamily.CATEGORICAL and units and units > 1 and _id_shaped(y, context):
        values = _finite(y)
        ids = values.size and bool(np.all(np.mod(values, 1) == 0)) and values.min() >= 0
        kind = "integer class ids" if ids else "one value per sample"
        return context.finding(
            f"targets have shape {list(y.shape)} ({kind}) but the loss is "
            f"{context.task.loss_name} on {units} output units, which wants one-hot rows: "
            f"use sparse_categorical_crossentropy, or keras.utils.to_categorical(y, {units})",
            where=where,
            y_shape=list(y.shape),
            loss=context.task.loss_name,
            output_units=units,
            expected="one-hot rows",
        )
    return None


@rule("L202", "labels-out-of-range", "Class labels do not fit the output layer", Severity.ERROR,
      stage=Stage.PREFLIGHT,
      voids_task=True, data_problem=True)
def labels_out_of_range(context: Context):
    """
    ## What it means
    The labels name classes the model cannot output. With sparse_categorical_crossentropy some
    whole-number class id is negative or at least K for an output of K units; with one-hot labels
    the row width differs from the number of output units.

    ## Why it matters
    Every class id must lie in [0, K): an id of K or more (labels counted from 1, or a class added
    later) or a negative id makes the loss read outside the prediction row. TensorFlow raises an
    InvalidArgumentError on CPU ("Received a label value of 10 which is outside the valid range of
    [0, 10)") and returns NaN for those rows on GPU, where the log shows `loss: nan` with no error.
    A one-hot row of the wrong width fails with a shape error.

    ## How to fix
    Make the output layer as wide as the number of classes, or re-encode the labels to 0..K-1 (e.g.
    y - 1 when they start at 1, or sklearn's LabelEncoder). nanfix measures counting the ids from 0
    and dropping the rows whose id is out of range.

    ## Example
    ```python
    keras.layers.Dense(10, activation="softmax")  # before: the labels run 1..10
    y_train = y_train - 1  # after: labels 0..9 for the same 10 units
    ```
    """
    y = _targets(context)
    family = loss_family(context.task)
    units = output_units(context.model)
    if y is None or not units:
        return None
    if family is LossFamily.SPARSE and not _one_hot_shaped(y, context):
        values = np.asarray(y, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(values) & (np.mod(values, 1) == 0)
        outside = whole & ((values < 0) | (values >= units))
        count = int(outside.sum())
        if count == 0:
            return None
        bad = np.unique(values[outside])
        return context.finding(
            f"{count} label(s) lie outside 0..{units - 1} for an output of {units} "
            f"units (values {', '.join(f'{v:g}' for v in bad[:SHOWN])}; rows "
            f"{', '.join(str(r) for r in _rows_where(outside))})",
            where=origin_of(output_layer(context.model)) or context.origin("compile"),
            count=count,
            values=[float(v) for v in bad[:SHOWN]],
            rows=_rows_where(outside),
            label_min=float(values[whole].min()),
            label_max=float(values[whole].max()),
            output_units=units,
        )
    one_hot = family is LossFamily.CATEGORICAL or context.task.label_format is LabelFormat.ONEHOT
    if one_hot and _one_hot_shaped(y, context) and y.shape[-1] != units:
        return context.finding(
            f"one-hot targets have {y.shape[-1]} columns but the output layer has {units} units",
            where=origin_of(output_layer(context.model)),
            width=int(y.shape[-1]),
            output_units=units,
        )
    return None


def _scaled_note(values: np.ndarray) -> str:
    for factor in (255.0, 100.0, 10.0):
        scaled = values * factor
        if np.allclose(scaled, np.round(scaled), atol=1e-3):
            return f"they look divided by {factor:g} (scaled together with the inputs?)"
    return "they look like scaled or continuous values, not labels"


@rule("L203", "labels-not-class-ids", "Labels are not class ids or one-hot rows", Severity.ERROR,
      stage=Stage.PREFLIGHT,
      voids_task=True, data_problem=True)
def labels_not_class_ids(context: Context):
    """
    ## What it means
    The loss expects class labels but the targets are not labels: fractional values where a sparse
    loss expects integer class ids, or, under categorical_crossentropy, one-hot rows that are negative
    or do not sum to 1 (0/1 rows with several 1s are multi-label: P306).

    ## Why it matters
    The common cause is scaling the labels together with the inputs (y / 255) or normalising a whole
    table including its label column. The loss then trains toward fractions of classes: it may run
    without error, but it learns nothing useful, or goes NaN for negative values.

    ## How to fix
    Keep labels as integers 0..K-1 (or one-hot rows of 0s and a single 1); scale only the inputs.
    When the labels look divided by 255, 100 or 10, nanfix measures undoing that scaling.

    ## Example
    ```python
    x_train, y_train = x_train / 255.0, y_train / 255.0  # before
    x_train = x_train / 255.0  # after: y_train keeps its class ids 0..9
    ```
    """
    y = _targets(context)
    family = loss_family(context.task)
    if y is None:
        return None
    values = np.asarray(y, dtype=np.float64)
    finite = np.isfinite(values)
    if family is LossFamily.SPARSE and not _one_hot_shaped(y, context):
        with np.errstate(invalid="ignore"):
            fractional = finite & (np.mod(values, 1) != 0)
        count = int(fractional.sum())
        if count == 0:
            return None
        examples = np.unique(values[fractional])[:SHOWN]
        note = _scaled_note(values[finite])
        return context.finding(
            f"{count} of {values.size} class ids are not whole numbers (e.g. "
            f"{', '.join(f'{v:.4g}' for v in examples)}): {note}",
            count=count,
            values=[float(v) for v in examples],
            rows=_rows_where(fractional),
            note=note,
        )
    if family is LossFamily.CATEGORICAL and _one_hot_shaped(y, context):
        rows = values.reshape(-1, values.shape[-1])
        if np.isin(rows, (0.0, 1.0)).all() and (rows.sum(axis=1) > 1).any():
            return None  # multi-label 0/1 rows are labels: the loss is wrong for them (P306)
        usable = np.isfinite(rows).all(axis=1)
        negative = (rows < 0).any(axis=1) & usable
        sums = rows.sum(axis=1)
        off = usable & ~np.isclose(sums, 1.0, atol=1e-3)
        if not negative.any() and not off.any():
            return None
        problems = []
        if negative.any():
            problems.append(f"{int(negative.sum())} rows have negative entries")
        if off.any():
            shown = ", ".join(f"{s:.4g}" for s in np.unique(sums[off])[:SHOWN])
            problems.append(f"{int(off.sum())} rows do not sum to 1 (sums {shown})")
        note = (
            _scaled_note(rows[usable])
            if off.any() and not negative.any()
            else ("one-hot labels are 0s and a single 1")
        )
        return context.finding(
            f"{'; '.join(problems)} of {rows.shape[0]} one-hot rows: {note}",
            negative_rows=int(negative.sum()),
            rows_not_summing_to_one=int(off.sum()),
            rows=_rows_where(negative | off),
            note=note,
        )
    return None


def _reachable_range(context: Context) -> tuple[tuple[float | None, float | None], str] | None:
    """The range the loss or the output activation allows targets to take, and why."""
    family = loss_family(context.task)
    if family in ONE_OF_K or not single_output(context.model):
        return None  # their labels are judged by L201-L203
    if family is LossFamily.BINARY:
        return (0.0, 1.0), f"{context.task.loss_name} (targets are probabilities)"
    if family is LossFamily.OTHER and not _elementwise_targets(context):
        return None  # a hand-written loss reading class ids (e.g. an NLL): not compared per unit
    activation = context.task.output_activation
    if activation in ACTIVATION_RANGES:
        return ACTIVATION_RANGES[activation], f"a {activation} output"
    return None


def _elementwise_targets(context: Context) -> bool:
    """Whether each target lines up with one output unit, so the two can be compared.

    A hand-written loss may take one class id per sample against K output units (a negative
    log-likelihood written with take_along_axis or a gather); those ids are not outputs.
    """
    units = output_units(context.model)
    y = context.y_array()
    width = int(np.prod(y.shape[1:])) if y.ndim > 1 else 1
    return units is None or width == units


@rule("L204", "targets-outside-output-range", "Targets the model cannot produce", Severity.ERROR,
      stage=Stage.PREFLIGHT,
      voids_task=True,
      # targets the output cannot produce are an error (not a warning) from this share of the rows
      limits={"error_share": 0.10})
def targets_outside_output_range(context: Context):
    """
    ## What it means
    Some targets lie outside what the model can output: outside 0..1 for a sigmoid or softmax output
    (and for binary cross-entropy, whose targets are probabilities), below 0 for relu/softplus,
    outside -1..1 for tanh. It is an error for binary cross-entropy, or when 10% or more of the
    targets are out of reach by default; a warning below that.

    ## Why it matters
    The model can never reach them, so the output units saturate, their gradients vanish and training
    stalls; with binary cross-entropy the loss is unbounded below, which drives the outputs to the
    clip limits and can end in NaN. The log shows a loss stuck at a floor, or one that goes negative
    under binary cross-entropy.

    ## How to fix
    Rescale the targets into the output's range (y / 255 for 0..255 masks; class ids belong with a
    softmax and sparse_categorical_crossentropy), or use a linear output for unbounded targets.
    nanfix measures rescaled targets, repaired data and a matching output/loss pair.

    ## Example
    ```python
    model.compile(optimizer="adam", loss="binary_crossentropy")  # before: masks in 0..255
    y_train = y_train / 255.0  # after: masks in 0..1
    ```
    """
    stats = target_statistics(context)
    allowed = _reachable_range(context)
    if stats is None or allowed is None or not np.isfinite(stats.minimum):
        return None
    (low, high), reason = allowed
    y = np.asarray(context.y_array(), dtype=np.float64)
    tolerance = 1e-6
    outside = np.zeros(y.shape, dtype=bool)
    if low is not None:
        outside |= y < low - tolerance
    if high is not None:
        outside |= y > high + tolerance
    count = int(outside.sum())
    if count == 0:
        return None
    share = count / max(1, int(np.isfinite(y).sum()))
    binary = loss_family(context.task) is LossFamily.BINARY
    severity = Severity.ERROR if binary or share >= context.limits.error_share else Severity.WARNING
    bounds = f"{'-inf' if low is None else f'{low:g}'}..{'inf' if high is None else f'{high:g}'}"
    note = ""
    if stats.integer_valued and stats.minimum >= 0 and stats.maximum > 1:
        if binary and (context.task.classes or 1) == 1 and stats.maximum < 255:
            note = (
                "; these look like class ids: for K classes use a softmax output of K units with "
                "sparse_categorical_crossentropy"
            )
        elif stats.maximum <= 255:
            note = "; these look like raw 0..255 values: divide by 255"
    where = context.origin("compile") if binary else origin_of(output_layer(context.model))
    return context.finding(
        f"{count} of {y.size} targets ({share:.0%}) lie outside {bounds}, the "
        f"range of {reason} (targets span {stats.minimum:g}..{stats.maximum:g}){note}",
        severity=severity,
        where=where,
        count=count,
        share=share,
        target_min=stats.minimum,
        target_max=stats.maximum,
        allowed=[low, high],
        activation=context.task.output_activation,
        loss=context.task.loss_name,
        rows=_rows_where(outside),
    )


def _classes_the_loss_reads(y: np.ndarray, context: Context) -> tuple[np.ndarray, str]:
    """The target values as the loss sees them, and how it reads them: class ids cast to
    integers for a sparse loss, the hot column of one-hot rows, the raw values otherwise."""
    family = loss_family(context.task)
    values = np.asarray(y, dtype=np.float64)
    if family is LossFamily.SPARSE and not _one_hot_shaped(y, context):
        finite = values[np.isfinite(values)]
        return np.trunc(finite).astype(np.int64), "once cast to the integer class ids the loss reads"
    if _one_hot_shaped(y, context) and (family is LossFamily.CATEGORICAL or context.task.label_format is LabelFormat.ONEHOT):
        rows = values.reshape(-1, values.shape[-1])
        rows = rows[np.isfinite(rows).all(axis=1)]
        return np.argmax(rows, axis=1), "as the hot column of each one-hot row"
    finite = values.reshape(values.shape[0], -1) if values.ndim > 1 else values.reshape(-1, 1)
    finite = finite[np.isfinite(finite).all(axis=1)]
    return finite, ""


@rule("L205", "degenerate-targets", "Every target is the same", Severity.ERROR,
      stage=Stage.PREFLIGHT,
      voids_task=True)
def degenerate_targets(context: Context):
    """
    ## What it means
    Every training target is the same value, or the same class once the loss reads it (a sparse
    cross-entropy casts its labels to integers, so labels divided by 255 with the images all become
    class 0).

    ## Why it matters
    There is nothing to learn: the model outputs that one answer, the loss falls to about zero and,
    for a classifier, the accuracy reads 1.0 from the first steps, which looks like a perfect
    training and is none. It is not a training problem that a learning rate or an optimizer can fix,
    and nanfix calls no training healthy while this finding stands.

    ## How to fix
    Check how the targets were built: keep class labels as integers 0..K-1 (scale only the inputs),
    check that the label column is the one you meant, and that the data were not filtered to one
    class.

    ## Example
    ```python
    y_train = (y_train / 255).astype("int32")  # before: every label becomes 0
    y_train = y_train.astype("int32")  # after: class ids 0..9
    ```
    """
    y = _targets(context)
    if y is None or y.shape[0] < 2:
        return None
    values, how = _classes_the_loss_reads(y, context)
    if values.shape[0] < 2:
        return None
    distinct = np.unique(values, axis=0)
    if distinct.shape[0] != 1:
        return None
    value = distinct[0]
    shown = f"{float(np.ravel(value)[0]):g}" if np.size(value) == 1 else \
        "[" + ", ".join(f"{v:g}" for v in np.ravel(value)[:SHOWN]) + "]"
    raw = np.asarray(y, dtype=np.float64)
    raw = raw[np.isfinite(raw)]
    spread = f" (the labels span {raw.min():.4g}..{raw.max():.4g})" \
        if how and raw.size and raw.min() != raw.max() else ""
    what = f"class {shown}" if how else f"the value {shown}"
    return context.finding(
        f"all {values.shape[0]} targets are {what}{' ' + how if how else ''}{spread}: a loss "
        "near 0 and an accuracy of 1.0 will mean nothing",
        where=context.origin("fit"),
        value=np.ravel(value).tolist()[:SHOWN],
        samples=int(values.shape[0]),
        read_as=how or "values",
    )


@rule("L206", "class-ids-under-binary-loss", "Class ids under a binary loss", Severity.ERROR,
      stage=Stage.PREFLIGHT, voids_task=True)
def class_ids_under_binary_loss(context: Context):
    """
    ## What it means
    The targets are integer class ids with three classes or more (0..K-1) but the loss is binary
    cross-entropy on fewer output units than classes (usually one sigmoid unit): the finding names
    K, the number of classes the labels hold.

    ## Why it matters
    Binary cross-entropy reads each target as the probability of one yes/no label, so an id of 7 is
    a "probability" of 7: the loss is unbounded below, the sigmoid saturates at 1 and the model
    learns nothing about which of the K classes a sample is. Keras runs it without complaint; the
    loss goes negative or sits at a floor, and the accuracy is that of the largest class.

    ## How to fix
    Give the output one unit per class with a softmax and use sparse_categorical_crossentropy for
    integer ids (categorical_crossentropy for one-hot rows). Do not drop the classes the output
    cannot represent: that changes the task. nanfix measures the widened output.

    ## Example
    ```python
    keras.layers.Dense(1, activation="sigmoid")  # before, with loss="binary_crossentropy"
    keras.layers.Dense(10, activation="softmax")  # after, with loss="sparse_categorical_crossentropy"
    ```
    """
    y = _targets(context)
    units = output_units(context.model)
    if y is None or loss_family(context.task) is not LossFamily.BINARY or _one_hot_shaped(y, context):
        return None
    values = _finite(y)
    if values.size == 0 or not np.all(np.mod(values, 1) == 0) or values.min() < 0:
        return None
    classes = int(values.max()) + 1
    if classes < 3 or (units is not None and units >= classes):
        return None
    return context.finding(
        f"the targets are class ids 0..{classes - 1} ({classes} classes) but "
        f"{context.task.loss_name} on {units or 1} output unit{'s' if (units or 1) != 1 else ''} reads "
        f"each as one yes/no probability: use Dense({classes}, activation='softmax') with "
        "sparse_categorical_crossentropy",
        where=context.origin("compile"), classes=classes, output_units=units,
        loss=context.task.loss_name)
