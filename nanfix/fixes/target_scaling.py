"""The target-scaling family: standardise regression targets.

Targets in the thousands make MSE and its gradients millions of times larger than a rate
tuned for unit-scale targets expects. Train on (y - mean) / std and turn predictions back
with y_pred * std + mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.source.edits import DataEdit
from nanfix.probes.setup import TrainSetup
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("D105", "L204", "N701", "N703", "N705")


def _standardise_targets(setup: TrainSetup) -> TrainSetup:
    data = setup.data
    y = np.asarray(data.y, dtype="float64")
    mean, std = y.mean(axis=0), y.std(axis=0) + 1e-7
    changed = replace(data, y=((y - mean) / std).astype("float32"))
    if data.y_val is not None and not isinstance(data.y_val, (list, tuple, dict)):
        changed.y_val = ((np.asarray(data.y_val, dtype="float64") - mean) / std).astype("float32")
    return setup.with_changes(data=changed)


@family("target_scaling", "Scale the regression targets", answers=ANSWERS, priority=80)
def target_scaling(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    if setup.task.kind != "regression" or isinstance(setup.data.y, (list, tuple, dict)):
        return []
    y = np.asarray(setup.data.y)
    if not np.issubdtype(y.dtype, np.number) or y.size == 0:
        return []
    finite = y[np.isfinite(y)]
    if finite.size == 0:
        return []
    scale = float(np.max(np.abs(finite)))
    if scale <= 10.0:
        return []
    return [Fix(
        id="targets-standardise", family="target_scaling",
        title="Standardise the regression targets",
        transform=_standardise_targets,
        changes=(f"y → (y - mean) / std (targets reach {scale:.3g}); predict with "
                 "y_pred * y_std + y_mean",),
        edits=(DataEdit(("{y}_mean, {y}_std = {y}.mean(axis=0), {y}.std(axis=0) + 1e-7",
                         "{y} = ({y} - {y}_mean) / {y}_std"),
                        ("{y_val} = ({y_val} - {y}_mean) / {y}_std",),
                        comment="standardise targets; predictions: y_pred * y_std + y_mean"),),
        magnitude=1.5)]
