"""What a fix does to the task itself: the rows and the classes it trains on.

A fix may repair data that is invalid on its own (rows with NaN or Inf) and drop a few stray
rows, but a cure that drops whole classes, or much of the data, cures by changing the
question: ten digits become two, and "accuracy 0.99" answers a question nobody asked. The
plan never proposes such a fix, and the assessment never calls one a cure; both ask
`changes_task`, with the thresholds `repair_row_share` and `repair_class_rows`.

>>> import numpy as np
>>> from nanfix.config import Thresholds
>>> ids = np.repeat(np.arange(10), 100)
>>> changes_task(ids, ids[ids < 2], invalid_rows=0, thresholds=Thresholds())
'it drops 800 of 1000 training rows (80%) and 8 of the 10 classes'
>>> changes_task(ids, ids[3:], invalid_rows=0, thresholds=Thresholds()) is None  # 3 rows: kept
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nanfix.capture.training_data import first_array, leaves
from nanfix.config import Thresholds


def bad_rows(x, y) -> tuple[np.ndarray, int, int]:
    """(mask of rows with a non-finite value anywhere, rows bad in x, rows bad in y)."""
    count = len(leaves(x)[0])

    def mask(nest) -> np.ndarray:
        bad = np.zeros(count, dtype=bool)
        for leaf in leaves(nest):
            leaf = np.asarray(leaf)
            if np.issubdtype(leaf.dtype, np.floating) and len(leaf) == count:
                bad |= ~np.isfinite(leaf.reshape(count, -1)).all(axis=1)
        return bad

    in_x, in_y = mask(x), mask(y)
    return in_x | in_y, int(in_x.sum()), int(in_y.sum())


def class_counts(y: Any) -> dict[float, int] | None:
    """How many rows each class holds, for targets that are class ids or one-hot rows (None
    for continuous targets)."""
    y = np.asarray(first_array(y)) if y is not None else None
    if y is None or y.size == 0 or not np.issubdtype(y.dtype, np.number):
        return None
    if y.ndim > 1 and y.shape[-1] > 1:
        rows = y.reshape(-1, y.shape[-1])
        if not np.isin(rows[np.isfinite(rows).all(axis=1)], (0, 1)).all():
            return None
        ids = np.argmax(rows, axis=-1).astype("float64")
    else:
        ids = y.reshape(len(y)).astype("float64")
        ids = ids[np.isfinite(ids)]
        if ids.size == 0 or not np.all(np.mod(ids, 1) == 0):
            return None
    values, counts = np.unique(ids, return_counts=True)
    return {float(value): int(count) for value, count in zip(values, counts, strict=True)}


def changes_task(before_y: Any, after_y: Any, invalid_rows: int, thresholds: Thresholds) -> str | None:
    """Why training on `after_y` instead of `before_y` changes the task, or None when it
    keeps it: more rows gone than the invalid ones and `repair_row_share` of the rest, or a
    class held by more than `repair_class_rows` rows gone."""
    before, after = len(first_array(before_y)), len(first_array(after_y))
    reasons = []
    dropped = before - after
    if dropped > invalid_rows and dropped - invalid_rows > thresholds.repair_row_share * before:
        reasons.append(f"it drops {dropped} of {before} training rows ({dropped / max(before, 1):.0%})")
    counts_before, counts_after = class_counts(before_y), class_counts(after_y)
    if counts_before and counts_after is not None:
        held = [count for count in counts_before.values() if count > thresholds.repair_class_rows]
        kept = [count for count in counts_after.values() if count > thresholds.repair_class_rows]
        if len(kept) < len(held):
            lost = f"{len(held) - len(kept)} of the {len(held)} classes"
            reasons.append(f"and {lost}" if reasons else f"it drops {lost}")
    return " ".join(reasons) or None


def fix_changes_task(fix: Any, setup: Any, thresholds: Thresholds) -> str | None:
    """Why `fix` (a `Fix`) changes the task `setup` trains for, or None: only a fix that edits
    the data can (the others leave the rows and the targets as they are)."""
    from nanfix.fixes.source.edits import DataEdit

    if not any(isinstance(edit, DataEdit) for edit in fix.edits):
        return None
    data = setup.data
    try:
        fixed = fix.apply(setup).data
    except Exception:  # noqa: BLE001 - a fix that cannot be made is measured as a failure
        return None
    return changes_task(data.y, fixed.y, int(bad_rows(data.x, data.y)[0].sum()), thresholds)
