"""The target-scaling family: standardise regression targets.

Targets in the thousands make MSE and its gradients millions of times larger than a rate
tuned for unit-scale targets expects. Train on (y - mean) / std and turn predictions back
with y_pred * std + mean.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nanfix.capture.task import TaskKind
from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.source.edits import DataEdit
from nanfix.probes.setup import TrainSetup
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("D105", "L204", "N701", "N703", "N705")
# Targets reaching this magnitude are worth standardising for any finding the family answers
# (a looser bar than D105's, which names the cause).
MAGNITUDE = 10.0


@family("target_scaling", "Scale the regression targets", answers=ANSWERS, priority=80)
def target_scaling(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    if setup.task.kind is not TaskKind.REGRESSION or isinstance(setup.data.y, (list, tuple, dict)):
        return []
    y = np.asarray(setup.data.y)
    if not np.issubdtype(y.dtype, np.number) or y.size == 0:
        return []
    finite = y[np.isfinite(y)]
    if finite.size == 0:
        return []
    scale = float(np.max(np.abs(finite)))
    if scale <= MAGNITUDE:
        return []
    return [Fix(
        base=setup, id="targets-standardise", family="target_scaling",
        title="Standardise the regression targets",
        edits=(DataEdit(("{y}_mean, {y}_std = {y}.mean(axis=0), {y}.std(axis=0) + 1e-7",
                         "{y} = ({y} - {y}_mean) / {y}_std"),
                        ("{y_val} = ({y_val} - {y}_mean) / {y}_std",),
                        comment="standardise targets; predictions: y_pred * y_std + y_mean",
                        summary=f"y → (y - mean) / std (targets reach {scale:.3g}); predict with "
                                "y_pred * y_std + y_mean"),),
        magnitude=1.5)]
