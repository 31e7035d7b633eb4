"""The data family: rows with NaN/Inf in the inputs or targets, dropped or imputed.

One NaN in a batch makes that step's loss and gradients NaN, and every weight after it. No
optimizer setting cures that; only a change to the data does, and the report says so. These
fixes are marked `data_fix=True`: the sweep lets only them count as cures while a data
finding (D101/D102/L202/L203) or non-finite data is present.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nanfix.capture.task import TaskKind
from nanfix.findings.catalog import data_problems
from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.source.edits import DataEdit
from nanfix.fixes.task_change import bad_rows
from nanfix.probes.setup import TrainSetup
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("D101", "D102", "D103", "L202", "L203", "L204", "N701")


def drop_rows(keep: str, comment: str, summary: str) -> DataEdit:
    """The edit that keeps the rows where `keep` (a template over {x} and {y}) holds, in the
    training data and, with the same test on {x_val} and {y_val}, in the validation data."""
    on_val = keep.replace("{x}", "{x_val}").replace("{y}", "{y_val}")
    return DataEdit((f"keep = {keep}", "{x}, {y} = {x}[keep], {y}[keep]"),
                    (f"keep_val = {on_val}", "{x_val}, {y_val} = {x_val}[keep_val], {y_val}[keep_val]"),
                    comment=comment, repair=True, summary=summary)


def data_problem(setup: TrainSetup, findings: list[Finding]) -> str | None:
    """What is wrong with the data in plain words, or None when the data is fine: non-finite
    rows, or a finding whose rule says the data itself is broken."""
    bad, in_x, in_y = bad_rows(setup.data.x, setup.data.y)
    total = len(bad)
    if bad.any():
        parts = []
        if in_x:
            parts.append(f"{in_x} of {total} training rows have NaN/Inf in the inputs")
        if in_y:
            parts.append(f"{in_y} of {total} have NaN/Inf in the targets")
        return "; ".join(parts)
    broken = data_problems(findings)
    if broken:
        return "; ".join(item.message for item in broken)
    return None


@family("data", "Repair the data", answers=ANSWERS, priority=60, data_fix=True)
def data(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    return nonfinite_fixes(setup, findings) + label_fixes(setup, findings)


def nonfinite_fixes(setup: TrainSetup, findings: list[Finding]) -> list[Fix]:
    bad, in_x, in_y = bad_rows(setup.data.x, setup.data.y)
    if not bad.any():
        return []
    total = len(bad)
    problem = data_problem(setup, findings)
    note = (f"The data must change: {problem}. No optimizer setting can cure a NaN in the data; "
            "drop or repair those rows before fit.")
    fixes = [Fix(
        base=setup, id="data-drop-nonfinite", family="data", note=note,
        title="Drop the rows with NaN/Inf values",
        edits=(drop_rows("{np}.isfinite({x}).reshape(len({x}), -1).all(axis=1) & "
                         "{np}.isfinite({y}).reshape(len({y}), -1).all(axis=1)",
                         comment="drop rows with NaN/Inf",
                         summary=f"drop {int(bad.sum())} of {total} training rows with NaN/Inf "
                                 f"({in_x} in the inputs, {in_y} in the targets)"),),
        magnitude=1.0)]
    plain_x = not isinstance(setup.data.x, (list, tuple, dict))
    if in_x and not in_y and plain_x:
        fixes.append(Fix(
            base=setup, id="data-impute-mean", family="data", note=note,
            title="Replace NaN/Inf inputs with the feature's mean",
            edits=(DataEdit(
                ("{x}_finite = {np}.isfinite({x})",
                 "{x}_mean = {np}.nanmean({np}.where({x}_finite, {x}, {np}.nan), axis=0)",
                 "{x} = {np}.where({x}_finite, {x}, {x}_mean)"),
                ("{x_val} = {np}.where({np}.isfinite({x_val}), {x_val}, {x}_mean)",),
                comment="impute NaN/Inf inputs with the training means", repair=True,
                summary=f"impute the NaN/Inf inputs of {in_x} of {total} rows with the "
                        "per-feature mean of the finite values"),),
            magnitude=1.5))
    return fixes


# -- class labels the output cannot represent (L202) or that are not labels at all (L203) --

SCALES = (255.0, 100.0, 10.0)


def _class_ids(setup: TrainSetup) -> np.ndarray | None:
    """Sparse class-id targets (or a binary task's one label per sample) as floats, or None
    for any other target format."""
    y = setup.data.y
    if isinstance(y, (list, tuple, dict)) or setup.task.kind not in (TaskKind.MULTICLASS, TaskKind.BINARY):
        return None
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.number) or (y.ndim > 1 and y.shape[-1] > 1):
        return None
    return y.astype("float64").reshape(len(y))


def _note(setup: TrainSetup, findings: list[Finding]) -> str:
    problem = data_problem(setup, findings) or "the labels are not what the loss and the output expect"
    return (f"The data must change: {problem}. No optimizer setting can make a model learn "
            "labels it cannot represent; re-encode them before fit.")


def label_fixes(setup: TrainSetup, findings: list[Finding]) -> list[Fix]:
    ids = _class_ids(setup)
    if ids is None:
        return []
    units = 2 if setup.task.kind is TaskKind.BINARY else setup.task.classes  # one sigmoid unit, two classes
    finite = ids[np.isfinite(ids)]
    if finite.size == 0:
        return []
    note = _note(setup, findings)
    whole = bool(np.all(np.mod(finite, 1) == 0))
    if whole and finite.min() == 1 and finite.max() == units:
        return [Fix(base=setup, id="labels-from-zero", family="data", note=note,
                    title=f"Count the class ids from 0 (labels run 1..{units})",
                    edits=(DataEdit(("{y} = {y} - 1",), ("{y_val} = {y_val} - 1",),
                                    comment="class ids must run 0..K-1", repair=True,
                                    summary=f"y → y - 1 (labels 1..{units} become 0..{units - 1})"),),
                    magnitude=1.0)]
    if not whole:
        for factor in SCALES:
            scaled = finite * factor
            if np.allclose(scaled, np.round(scaled), atol=1e-3) and np.round(scaled).max() < units:
                return [Fix(base=setup, id=f"labels-times-{factor:g}", family="data", note=note,
                            title=f"Undo the scaling of the labels (x{factor:g})",
                            edits=(DataEdit((f"{{y}} = {{np}}.rint({{y}} * {factor:g}).astype(int)",),
                                            (f"{{y_val}} = {{np}}.rint({{y_val}} * {factor:g}).astype(int)",),
                                            comment="labels are class ids, not scaled values", repair=True,
                                            summary=f"y → round(y * {factor:g}) (the labels were "
                                                    "scaled with the inputs)"),),
                            magnitude=1.0)]
        return []
    outside = (finite < 0) | (finite >= units)
    if not outside.any():
        return []
    return [Fix(base=setup, id="labels-drop-out-of-range", family="data",
                note=note, title=f"Drop the rows whose class id is outside 0..{units - 1}",
                edits=(drop_rows(f"(({{y}} >= 0) & ({{y}} < {units})).reshape(len({{y}}), -1).all(axis=1)",
                                 comment="class ids must lie in 0..K-1",
                                 summary=f"drop {int(outside.sum())} rows with labels outside "
                                         f"0..{units - 1}"),),
                magnitude=1.5)]
