"""The input-scaling family: bring the inputs to unit scale (÷255, standardise, min-max).

Raw pixels (0..255) or features in the thousands make the first layer's pre-activations
huge: sigmoid/softmax saturate, ReLUs die after one step, and a rate tuned for unit-scale
inputs overshoots. In a Sequential model the scaling becomes the model's first layer
(`Rescaling(1 / 255)`, or a `Normalization` adapted to the training inputs), so the script's
own `evaluate(x_test)`, `predict` and `model.save` see what training saw. Elsewhere it is a
data change written before fit (`x_train = x_train / 255.0`), the validation inputs too; the
arrays the script gives evaluate and predict must then be scaled the same way, which the
report's snippet says.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nanfix.capture.task import inputs_are_ids
from nanfix.capture.training_data import TrainingData, looks_like_pixels
from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.source.edits import DataEdit, InputLayerEdit
from nanfix.probes.setup import TrainSetup, model_config, rebuildable
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("D103", "D104", "N701", "N703", "N705", "S801", "S802", "S803", "U901", "U902")
# The family standardises inputs that reach this magnitude, whose median column spread is
# above `SPREAD_HIGH` or below `SPREAD_LOW` (and not zero): worth trying for any finding it
# answers, a looser bar than D104's, which names the cause.
MAGNITUDE = 5.0
SPREAD_HIGH = 3.0
SPREAD_LOW = 0.05


def plain_inputs(data: TrainingData) -> np.ndarray | None:
    """The inputs when they are one numeric array (multi-input models are left alone)."""
    x = data.x
    if isinstance(x, (list, tuple, dict)):
        return None
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.number) or x.ndim < 2 or x.size == 0:
        return None
    return x


def _finite(x: np.ndarray) -> np.ndarray:
    return x[np.isfinite(x)] if np.issubdtype(x.dtype, np.floating) else x.ravel()


def travels_with_the_model(setup: TrainSetup) -> bool:
    """A Sequential model takes a preprocessing layer as its first layer: then the scaling is
    part of the model, and the script's own evaluate, predict and save get it too."""
    return rebuildable(setup.model) and model_config(setup.model).get("class_name") == "Sequential"


def in_the_model(setup: TrainSetup, x: np.ndarray, what: str, span: str, per: str, pixels: bool,
                 low: float, high: float, spread: float) -> list[Fix]:
    """The scalings as the model's first layer: Rescaling(1 / 255) for pixels, Normalization
    adapted to the training inputs for features far from unit scale."""
    fixes = []
    if pixels:
        fixes.append(Fix(
            base=setup, id="inputs-divide-255", family="input_scaling",
            title="Divide the inputs by 255 in the model (Rescaling(1 / 255) as its first layer)",
            edits=(InputLayerEdit("rescale"),), magnitude=1.0))
    if x.ndim == 2 and (max(abs(low), abs(high)) > MAGNITUDE or spread > SPREAD_HIGH or 0 < spread < SPREAD_LOW):
        fixes.append(Fix(
            base=setup, id="inputs-standardise", family="input_scaling",
            title=f"Standardise {what} in the model (a Normalization layer adapted to the training "
                  f"inputs, {span})",
            edits=(InputLayerEdit("normalize"),), magnitude=1.5))
    return fixes


@family("input_scaling", "Scale the inputs", answers=ANSWERS, priority=20)
def input_scaling(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    x = plain_inputs(setup.data)
    if x is None or inputs_are_ids(setup.model):  # token ids are not features to scale
        return []
    values = _finite(x)
    if values.size == 0:
        return []
    low, high = float(values.min()), float(values.max())
    spread = float(np.median(np.std(x.reshape(len(x), -1), axis=0)))
    tabular = x.ndim == 2
    what = f"the {x.shape[1]} input columns" if tabular else "the inputs"
    span = f"{what} span {low:.3g}..{high:.3g}"
    per = "per column" if tabular else "per feature"
    pixels = looks_like_pixels(x)
    if travels_with_the_model(setup):
        return in_the_model(setup, x, what, span, per, pixels, low, high, spread)
    fixes = []
    if pixels:
        fixes.append(Fix(
            base=setup, id="inputs-divide-255", family="input_scaling",
            title="Divide the inputs by 255 (pixel values to 0..1)",
            edits=(DataEdit(("{x} = {x} / 255.0",), ("{x_val} = {x_val} / 255.0",),
                            comment="scale pixels to 0..1",
                            inline=("{x} / 255.0", "{x_val} / 255.0"),
                            summary=f"x → x / 255.0 ({span}; after: 0..{high / 255:.3g})"),),
            magnitude=1.0))
    if max(abs(low), abs(high)) > MAGNITUDE or spread > SPREAD_HIGH or 0 < spread < SPREAD_LOW:
        fixes.append(Fix(
            base=setup, id="inputs-standardise", family="input_scaling",
            title=f"Standardise {what} (zero mean, unit variance {per})",
            edits=(DataEdit(("{x}_mean, {x}_std = {x}.mean(axis=0), {x}.std(axis=0) + 1e-7",
                             "{x} = ({x} - {x}_mean) / {x}_std"),
                            ("{x_val} = ({x_val} - {x}_mean) / {x}_std",),
                            comment="standardise with the training statistics",
                            summary=f"x → (x - mean) / std {per}, from the training inputs ({span})"),),
            magnitude=1.5))
        if not pixels and high > low:
            fixes.append(Fix(
                base=setup, id="inputs-min-max", family="input_scaling",
                title=f"Min-max scale {what} to 0..1 ({per})",
                edits=(DataEdit(("{x}_min, {x}_max = {x}.min(axis=0), {x}.max(axis=0)",
                                 "{x} = ({x} - {x}_min) / ({x}_max - {x}_min + 1e-7)"),
                                ("{x_val} = ({x_val} - {x}_min) / ({x}_max - {x}_min + 1e-7)",),
                                comment="min-max scale with the training range",
                                summary=f"x → (x - min) / (max - min) {per}, from the training "
                                        f"inputs ({span})"),),
                magnitude=1.5))
    return fixes
