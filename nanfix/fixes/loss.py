"""The loss family: a loss that does not fit the targets, changed for one that does.

- multi-label targets (several 1s per row) under a categorical cross-entropy, which assumes
  exactly one class per sample: sigmoid outputs with binary cross-entropy (P306);
- a categorical cross-entropy over a single output unit, which is 0 whatever the model
  says: binary cross-entropy on a sigmoid (P307);
- a regression on mean absolute error that stalls: its gradient has the same size however
  far the prediction is, so it crawls where squared error or Huber move (S803, S805).

The output-activation/loss *pairing* of a classifier (softmax with binary cross-entropy, and
squared error on one-hot labels: P305) is the pairing family's; this one changes what the
loss measures.
"""

from __future__ import annotations

from collections.abc import Sequence

from nanfix.capture.task import (
    ABSOLUTE_LOSSES,
    CATEGORICAL_LOSSES,
    SPARSE_LOSSES,
    Activation,
    LabelFormat,
    TaskKind,
)
from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.helpers import stalls
from nanfix.fixes.pairing import LossSpec, change_fix
from nanfix.probes.setup import TrainSetup
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("P306", "P307", "S803", "S805")


@family("loss", "Use a loss that fits the targets", answers=ANSWERS, priority=35)
def loss(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    task = setup.task
    fixes: list[Fix | None] = []
    if task.label_format is LabelFormat.BINARY and (task.classes or 1) > 1 and \
            task.loss_name in CATEGORICAL_LOSSES | SPARSE_LOSSES:
        fixes.append(change_fix(
            setup, id="loss-multilabel-bce", family_name="loss", activation=Activation.SIGMOID,
            loss=LossSpec("binary_crossentropy", from_logits=False),
            title="Sigmoid outputs with binary cross-entropy (several labels per sample)"))
    if (task.classes or 1) == 1 and task.loss_name in CATEGORICAL_LOSSES | SPARSE_LOSSES:
        fixes.append(change_fix(
            setup, id="loss-binary-crossentropy", family_name="loss", activation=Activation.SIGMOID,
            loss=LossSpec("binary_crossentropy", from_logits=False),
            title="Binary cross-entropy on the single sigmoid unit (two classes)"))
    if task.kind is TaskKind.REGRESSION and task.loss_name in ABSOLUTE_LOSSES and stalls(findings):
        for name, title in (("mean_squared_error", "Mean squared error instead of mean absolute error"),
                            ("huber", "Huber loss instead of mean absolute error")):
            fixes.append(change_fix(setup, id=f"loss-{name.replace('_', '-')}", family_name="loss",
                                    loss=LossSpec(name, from_logits=False), title=title))
    return [fix for fix in fixes if fix is not None]
