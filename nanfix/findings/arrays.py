"""Pre-flight rules on the training data itself: non-finite values, constant and unscaled
inputs, regression targets far from unit scale.

The statistics are computed once per run (`input_statistics`, `target_statistics`, shared
through `Context.measure`) in a single chunked pass, so a 20000x784 array costs a fraction of
a second and never a float64 copy of the whole array. Multi-input models are judged on their
first input array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nanfix.capture.task import TaskKind, inputs_are_ids
from nanfix.capture.training_data import looks_like_pixels
from nanfix.findings.catalog import Context, Line, rule
from nanfix.records import Severity, Stage

# How many rows, columns and values an evidence list shows.
SHOWN = 5
# Elements converted to float64 at a time while measuring.
CHUNK_ELEMENTS = 1 << 22


@dataclass
class ArrayStatistics:
    """Per-column and overall statistics of a (rows, columns...) array, over finite values."""

    shape: tuple[int, ...]
    rows: int
    columns: int  # features per row (the array flattened after the first axis)
    nan: int
    inf: int
    nonfinite_rows: np.ndarray  # row indices with a NaN/Inf, sorted
    nonfinite_columns: np.ndarray  # flat feature indices with a NaN/Inf, sorted
    column_min: np.ndarray  # NaN for a column with no finite value
    column_max: np.ndarray
    column_count: np.ndarray  # finite values per column
    minimum: float
    maximum: float
    mean: float
    std: float
    integer_valued: bool

    @property
    def nonfinite(self) -> int:
        return self.nan + self.inf

    @property
    def largest_magnitude(self) -> float:
        if not np.isfinite(self.minimum):
            return 0.0
        return max(abs(self.minimum), abs(self.maximum))

    def positions(self, columns: np.ndarray) -> list:
        """Flat feature indices as (row-less) positions in the feature shape, for images."""
        feature_shape = self.shape[1:]
        if len(feature_shape) <= 1:
            return [int(column) for column in columns]
        return [
            tuple(int(i) for i in np.unravel_index(int(column), feature_shape))
            for column in columns
        ]


def measure_array(array: np.ndarray) -> ArrayStatistics:
    """One chunked pass: NaN/Inf positions, per-column range, overall mean/std (Chan's merge)."""
    array = np.asarray(array)
    rows = array.shape[0] if array.ndim else 1
    table = array.reshape(rows, -1)
    columns = table.shape[1]
    floating = np.issubdtype(table.dtype, np.floating)
    column_min = np.full(columns, np.nan)
    column_max = np.full(columns, np.nan)
    count = np.zeros(columns)
    mean = np.zeros(columns)
    m2 = np.zeros(columns)  # sum of squared deviations from the column mean
    nan = inf = 0
    bad_rows: list[np.ndarray] = []
    bad_column_counts = np.zeros(columns, dtype=np.int64)
    integer_valued = True
    step = max(1, CHUNK_ELEMENTS // max(1, columns))
    for start in range(0, rows, step):
        chunk = table[start : start + step].astype(np.float64, copy=False)
        if floating:
            finite = np.isfinite(chunk)
            if not finite.all():
                bad = ~finite
                nan += int(np.isnan(chunk).sum())
                inf += int(bad.sum()) - int(np.isnan(chunk).sum())
                bad_rows.append(np.flatnonzero(bad.any(axis=1)) + start)
                bad_column_counts += bad.sum(axis=0)
                chunk = np.where(finite, chunk, np.nan)
            chunk_count = finite.sum(axis=0).astype(np.float64)
            if integer_valued:
                values = chunk[finite] if not finite.all() else chunk
                integer_valued = bool(np.all(np.mod(values, 1) == 0))
        else:
            chunk_count = np.full(columns, float(chunk.shape[0]))
        column_min = np.fmin(column_min, np.fmin.reduce(chunk, axis=0))
        column_max = np.fmax(column_max, np.fmax.reduce(chunk, axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            chunk_mean = np.where(chunk_count > 0, np.nansum(chunk, axis=0) / chunk_count, 0.0)
            chunk_m2 = np.nansum((chunk - chunk_mean) ** 2, axis=0)
            total = count + chunk_count
            delta = chunk_mean - mean
            share = np.where(total > 0, chunk_count / np.where(total > 0, total, 1), 0.0)
            mean = mean + delta * share
            m2 = m2 + chunk_m2 + delta**2 * count * share
        count = total

    seen = count > 0
    finite_values = float(count.sum())
    if finite_values:
        overall_mean = float((mean * count).sum() / finite_values)
        overall_m2 = float(m2.sum() + (count * (mean - overall_mean) ** 2).sum())
        overall_std = float(np.sqrt(overall_m2 / finite_values))
        minimum, maximum = float(column_min[seen].min()), float(column_max[seen].max())
    else:
        overall_mean = overall_std = minimum = maximum = float("nan")
    return ArrayStatistics(
        shape=tuple(array.shape),
        rows=rows,
        columns=columns,
        nan=nan,
        inf=inf,
        nonfinite_rows=np.concatenate(bad_rows) if bad_rows else np.array([], dtype=np.int64),
        nonfinite_columns=np.flatnonzero(bad_column_counts),
        column_min=column_min,
        column_max=column_max,
        column_count=count,
        minimum=minimum,
        maximum=maximum,
        mean=overall_mean,
        std=overall_std,
        integer_valued=integer_valued and finite_values > 0,
    )


def input_statistics(context: Context) -> ArrayStatistics | None:
    """Statistics of the first input array, or None when it is not numeric."""

    def compute():
        x = context.x_array()
        if x is None or x.size == 0 or np.issubdtype(x.dtype, np.complexfloating):
            return None
        return measure_array(x)

    return context.measure("input_statistics", compute)


def target_statistics(context: Context) -> ArrayStatistics | None:
    """Statistics of the first target array, or None when it is not numeric."""

    def compute():
        y = context.y_array()
        numeric = np.issubdtype(y.dtype, np.number) or y.dtype == bool
        if y.size == 0 or not numeric or np.issubdtype(y.dtype, np.complexfloating):
            return None
        return measure_array(y.astype(np.float64) if y.dtype == bool else y)

    return context.measure("target_statistics", compute)


def _first(values, count: int = SHOWN) -> list:
    return [int(value) for value in list(values)[:count]]


def _listed(values, total: int) -> str:
    shown = ", ".join(str(value) for value in values)
    return shown + (", ..." if total > len(values) else "")


def _nonfinite_finding(context: Context, what: str, stats: ArrayStatistics):
    rows = _first(stats.nonfinite_rows)
    columns = stats.nonfinite_columns[:SHOWN]
    positions = stats.positions(columns)
    kinds = " and ".join(
        part
        for part in (
            f"{stats.nan} NaN" if stats.nan else "",
            f"{stats.inf} Inf" if stats.inf else "",
        )
        if part
    )
    column_count = len(stats.nonfinite_columns)
    where_in_row = (
        f" and {column_count} column(s) ({_listed(positions, column_count)})"
        if stats.columns > 1
        else ""
    )
    message = (
        f"{kinds} value(s) in the {what}, in {len(stats.nonfinite_rows)} of {stats.rows} rows "
        f"({_listed(rows, len(stats.nonfinite_rows))}){where_in_row}"
    )
    return context.finding(
        message,
        nan=stats.nan,
        inf=stats.inf,
        rows=rows,
        row_count=int(len(stats.nonfinite_rows)),
        columns=positions,
        column_count=int(len(stats.nonfinite_columns)),
        shape=list(stats.shape),
    )


@rule("D101", "nonfinite-inputs", "Inputs contain NaN or Inf", Severity.ERROR,
      stage=Stage.PREFLIGHT,
      data_problem=True, points_at=Line.FIT)
def nonfinite_inputs(context: Context):
    """
    ## What it means
    Some values of the training inputs are NaN or Inf before training even starts (for a model with
    several inputs, the first input array is checked). The evidence names the rows and columns.

    ## Why it matters
    The first batch that contains one makes the forward pass, the loss and every gradient NaN, and one
    NaN gradient turns every weight into NaN: from then on the model predicts NaN for everything and
    Keras prints `loss: nan`, whatever the learning rate. Usual causes: missing values read from a
    CSV, a division by a zero standard deviation when standardising a constant column, log of 0.

    ## How to fix
    Fill or drop those rows (np.nan_to_num, df.fillna, df.dropna), or fix the preprocessing step that
    made them. nanfix measures dropping the rows and replacing the values with the feature's mean.

    ## Example
    ```python
    x_train = (x_train - x_train.mean(0)) / x_train.std(0)  # before: 0 / 0 in a constant column
    x_train = (x_train - x_train.mean(0)) / (x_train.std(0) + 1e-7)  # after
    x_train = np.nan_to_num(x_train)  # after: and fill what the CSV left missing
    ```
    """
    stats = input_statistics(context)
    if stats is None or stats.nonfinite == 0:
        return None
    return _nonfinite_finding(context, "inputs", stats)


@rule("D102", "nonfinite-targets", "Targets contain NaN or Inf", Severity.ERROR,
      stage=Stage.PREFLIGHT,
      voids_task=True, data_problem=True, points_at=Line.FIT)
def nonfinite_targets(context: Context):
    """
    ## What it means
    Some target values are NaN or Inf (for a model with several outputs, the first target array is
    checked). The evidence names the rows.

    ## Why it matters
    The loss of any batch that contains one is NaN, so its gradients are NaN and the weights are
    poisoned at the first such batch: `loss: nan` from then on, whatever the model or the learning
    rate. Because the targets are what the loss scores, nanfix calls no training healthy while this
    finding stands.

    ## How to fix
    Drop those rows or fill them with a valid value; for classification, check how the labels were
    encoded (a missing category mapped to NaN). nanfix measures dropping the rows.

    ## Example
    ```python
    y_train = df["price"].to_numpy()  # before: NaN where the price is missing
    df = df.dropna(subset=["price"])  # after
    y_train = df["price"].to_numpy()  # after
    ```
    """
    stats = target_statistics(context)
    if stats is None or stats.nonfinite == 0:
        return None
    return _nonfinite_finding(context, "targets", stats)


@rule("D103", "constant-features", "Some input features never change", Severity.INFO,
      stage=Stage.PREFLIGHT,
      points_at=Line.FIT)
def constant_features(context: Context):
    """
    ## What it means
    Some input columns have the same value in every training row, so they carry no information. When
    every column is constant the finding is a warning instead of a note.

    ## Why it matters
    A few are harmless and normal for raw images (the blank border pixels of MNIST). They matter when
    you standardise: (x - mean) / std divides by a zero std and produces NaN, and the first batch
    then prints `loss: nan` (D101). When every column is constant the model cannot learn anything:
    check how the inputs were loaded.

    ## How to fix
    Drop constant columns, or standardise with a guard (std + 1e-7).

    ## Example
    ```python
    x = (x - x.mean(axis=0)) / x.std(axis=0)  # before: 0 / 0 = NaN in constant columns
    x = x[:, x.std(axis=0) > 0]  # after: drop the constant columns
    x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-7)  # after: and guard the division
    ```
    """
    stats = input_statistics(context)
    if stats is None or stats.rows < 2:
        return None
    constant = np.flatnonzero((stats.column_count > 0) & (stats.column_min == stats.column_max))
    if constant.size == 0:
        return None
    every = constant.size == stats.columns
    values = np.unique(stats.column_min[constant])
    shown = stats.positions(constant[:SHOWN])
    value_note = f" (all equal to {values[0]:g})" if values.size == 1 else ""
    message = (
        f"{constant.size} of {stats.columns} input columns are constant{value_note} "
        f"over {stats.rows} rows: {_listed(shown, constant.size)}"
    )
    if every:
        message = (
            f"every input column is constant over {stats.rows} rows{value_note}: "
            "the inputs carry no information"
        )
    return context.finding(
        message,
        severity=Severity.WARNING if every else None,
        constant_columns=int(constant.size),
        columns=stats.columns,
        first=shown,
        values=[float(value) for value in values[:SHOWN]],
        rows=stats.rows,
    )


@rule("D104", "unscaled-inputs", "Inputs far from unit scale", Severity.WARNING,
      stage=Stage.PREFLIGHT,
      points_at=Line.FIT,
      limits={"scale": 10.0})
def unscaled_inputs(context: Context):
    """
    ## What it means
    The inputs reach magnitudes far above 1 (raw pixels 0..255, prices, counts): their largest
    magnitude or their standard deviation is above 10 by default. Inputs that feed an Embedding are
    token ids, not a scale, and are not judged.

    ## Why it matters
    The first layer's pre-activations and its gradients grow with the input scale, so a learning rate
    that suits unit-scale inputs makes steps hundreds of times too large. The loss explodes to NaN,
    or ReLU units die and saturated sigmoids stop learning, and the loss then sits at chance level
    (2.3026 for ten classes) epoch after epoch.

    ## How to fix
    Scale the inputs: divide pixels by 255, or standardise each column, (x - mean) / std, with the
    statistics of the training set (keras.layers.Normalization does this inside the model). nanfix
    measures dividing by 255, standardising and min-max scaling.

    ## Example
    ```python
    model.fit(x_train, y_train, epochs=5)  # before: pixels 0..255
    x_train = x_train.astype("float32") / 255.0  # after
    model.fit(x_train, y_train, epochs=5)  # after
    ```
    """
    if inputs_are_ids(context.model):  # token ids: their size is a vocabulary, not a scale
        return None
    stats = input_statistics(context)
    if stats is None or not np.isfinite(stats.minimum):
        return None
    limit = context.limits.scale
    largest = stats.largest_magnitude
    if largest <= limit and stats.std <= limit:
        return None
    seen = stats.column_count > 0
    magnitude = np.fmax(np.abs(stats.column_min), np.abs(stats.column_max))
    large_columns = int(np.sum(seen & (magnitude > limit)))
    x = context.x_array()
    pixels = x is not None and looks_like_pixels(x)
    note = (
        "looks like raw 0..255 pixels: divide by 255"
        if pixels
        else ("standardise each column: (x - mean) / std")
    )
    message = (
        f"inputs span {stats.minimum:g}..{stats.maximum:g} (mean {stats.mean:.3g}, std "
        f"{stats.std:.3g}; {large_columns} of {stats.columns} columns exceed "
        f"{limit:g} in magnitude): {note}"
    )
    return context.finding(
        message,
        x_min=stats.minimum,
        x_max=stats.maximum,
        mean=stats.mean,
        std=stats.std,
        large_columns=large_columns,
        columns=stats.columns,
        raw_pixels=pixels,
        note=note,
    )


@rule("D105", "large-regression-targets", "Regression targets far from unit scale",
      Severity.WARNING, stage=Stage.PREFLIGHT,
      points_at=Line.FIT,
      limits={"scale": 100.0})
def large_regression_targets(context: Context):
    """
    ## What it means
    The task is a regression and its targets reach magnitudes above 100 by default (prices, counts,
    years).

    ## Why it matters
    A squared-error loss on such targets starts at the square of that scale, and its gradients are as
    large: with an ordinary learning rate the first steps overshoot and the loss explodes to Inf/NaN,
    or the optimiser spends the whole budget just moving the output bias. The Keras log starts at a
    huge loss (1e4 and up) that blows up or creeps down slowly.

    ## How to fix
    Standardise the targets, y_scaled = (y - mean) / std (or divide by a typical value), train on
    those, and invert the transform on predictions; or use a loss with bounded gradients (Huber).
    nanfix measures standardised targets.

    ## Example
    ```python
    model.fit(x_train, y_train)  # before: prices in the hundreds of thousands
    mean, std = y_train.mean(), y_train.std()  # after
    model.fit(x_train, (y_train - mean) / std)  # after
    price = model.predict(x_test) * std + mean  # after: back to prices
    ```
    """
    if context.task is None or context.task.kind is not TaskKind.REGRESSION:
        return None
    stats = target_statistics(context)
    if stats is None or not np.isfinite(stats.minimum):
        return None
    largest = stats.largest_magnitude
    if largest <= context.limits.scale:
        return None
    return context.finding(
        f"regression targets span {stats.minimum:g}..{stats.maximum:g} (mean "
        f"{stats.mean:.4g}, std {stats.std:.4g}): standardise them and invert the "
        "transform on predictions",
        y_min=stats.minimum,
        y_max=stats.maximum,
        mean=stats.mean,
        std=stats.std,
    )
