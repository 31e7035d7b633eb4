"""The head family: an output with one unit per class, where the labels hold more classes
than the output can tell apart.

Integer labels 0..9 under one sigmoid unit and binary cross-entropy, a one-unit output under a
categorical loss, a softmax over one unit: the data is right and the model's head is wrong,
so the cure is the output the labels call for, `Dense(K, activation="softmax")` with
`sparse_categorical_crossentropy` for class ids (`categorical_crossentropy` for one-hot rows),
written at the output layer and the compile call. Dropping the classes the head cannot
represent would cure by changing the task; the plan never proposes that
(`nanfix.fixes.task_change`).
"""

from __future__ import annotations

from collections.abc import Sequence

from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.helpers import layers_of
from nanfix.fixes.pairing import loss_label
from nanfix.fixes.source.edits import LayerEdit, LossEdit
from nanfix.fixes.task_change import class_counts
from nanfix.probes.setup import TrainSetup, output_layer_config
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("L202", "L204", "L206", "P302", "P307")
MIN_CLASSES = 3  # two classes fit one sigmoid unit: that head is the pairing family's


@family("head", "Give the output one unit per class", answers=ANSWERS, priority=25, model_edit=True)
def head(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    counts = class_counts(setup.data.y)
    if not counts or min(counts) < 0 or setup.task.outputs:
        return []
    one_hot = setup.data.y.ndim > 1 and setup.data.y.shape[-1] > 1
    classes = int(max(counts)) + 1 if not one_hot else int(setup.data.y.shape[-1])
    layers = layers_of(setup)
    dense = [layer for layer in layers if isinstance(layer.get("config", {}).get("units"), int)]
    output = output_layer_config(layers)
    if classes < MIN_CLASSES or not dense or output is None or "activation" not in output["config"]:
        return []
    units = dense[-1]["config"]["units"]
    if units >= classes:
        return []  # the head can tell the classes apart: its activation or loss is pairing's
    edits = [LayerEdit(dense[-1]["config"]["name"], {"units": classes})]
    if output is dense[-1]:
        edits = [LayerEdit(output["config"]["name"], {"units": classes, "activation": "softmax"})]
    else:
        edits.append(LayerEdit(output["config"]["name"], {"activation": "softmax"}))
    loss = "categorical_crossentropy" if one_hot else "sparse_categorical_crossentropy"
    edits.append(LossEdit(loss, was=loss_label(setup)))
    return [Fix(base=setup, id=f"head-{classes}", family="head",
                title=f"One output unit per class: Dense({classes}, softmax) with {loss} "
                      f"(the labels hold {classes} classes, the output {units} unit"
                      f"{'s' if units != 1 else ''})",
                edits=tuple(edits), magnitude=1.0)]
