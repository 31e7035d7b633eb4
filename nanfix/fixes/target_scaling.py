"""The target-scaling family: standardise regression targets.

Targets in the thousands make MSE and its gradients millions of times larger than a rate
tuned for unit-scale targets expects. In a Sequential model under squared or absolute error
the model takes the scaling on itself: a last `Rescaling(scale=std, offset=mean)` layer and a
loss weighted by 1/std² train exactly as on standardised targets, while its predictions stay
in the user's units. Elsewhere the targets are standardised before fit (y - mean) / std, and
predictions must be turned back with y_pred * std + mean, which the change says.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nanfix.capture.task import ABSOLUTE_LOSSES, SQUARED_LOSSES, TaskKind
from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.helpers import layers_of
from nanfix.fixes.input_scaling import travels_with_the_model
from nanfix.fixes.source.edits import CompileEdit, DataEdit, InsertLayersEdit
from nanfix.probes.setup import TrainSetup
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("D105", "L204", "N701", "N703", "N705")
# Targets reaching this magnitude are worth standardising for any finding the family answers
# (a looser bar than D105's, which names the cause).
MAGNITUDE = 10.0


def in_the_model(setup: TrainSetup, y: np.ndarray, scale: float) -> Fix | None:
    """For a Sequential model under squared or absolute error: the model itself predicts in the
    user's units, through a last `Rescaling(scale=std, offset=mean)` layer, and the loss is
    weighted by 1/std² (1/std for absolute error), which makes the training exactly the one on
    standardised targets while the targets, evaluate, predict and the saved model stay in the
    user's units."""
    if not travels_with_the_model(setup) or setup.loss_weights is not None or np.ndim(setup.data.y) > 2:
        return None
    power = 2 if setup.task.loss_name in SQUARED_LOSSES else 1 if setup.task.loss_name in ABSOLUTE_LOSSES else 0
    layers = layers_of(setup)
    if not power or not layers:
        return None
    mean, std = float(np.mean(y)), float(np.std(y)) or 1.0
    return Fix(base=setup, id="targets-standardise", family="target_scaling",
               title="Standardise the regression targets in the model (a last Rescaling layer, "
                     "predictions in your units)",
               edits=(InsertLayersEdit(layers[-1]["config"]["name"],
                                       ("{keras}.layers.Rescaling(" + f"scale={std:.6g}, offset={mean:.6g})",)),
                      CompileEdit({"loss_weights": float(f"{1 / std ** power:.6g}")})),
               magnitude=1.5)


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
    in_model = in_the_model(setup, finite, scale)
    if in_model:
        return [in_model]
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
