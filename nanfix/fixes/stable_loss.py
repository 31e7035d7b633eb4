"""The stable-loss family: a built-in cross-entropy instead of a hand-written log loss.

`-sum(y * log(p))` written by hand takes log(0) as soon as one probability underflows, and
clipping the argument hides the NaN without giving back a useful gradient. Keras' own
cross-entropies clip internally, and with `from_logits=True` on a linear output they work on
the logits with log-softmax, which never sees 0.
"""

from __future__ import annotations

from collections.abc import Sequence

from nanfix.capture.task import Activation, TaskKind
from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.pairing import change_fix, classification_loss
from nanfix.probes.setup import TrainSetup
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("N701", "N706", "P304", "S803")


@family("stable_loss", "Use a built-in, numerically stable loss", answers=ANSWERS, priority=50)
def stable_loss(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    task = setup.task
    if task.loss_name != "custom" or not task.is_classification:
        return []
    probabilities = Activation.SOFTMAX if task.kind is TaskKind.MULTICLASS else Activation.SIGMOID
    loss = classification_loss(setup, from_logits=False, as_class=True)
    logits = classification_loss(setup, from_logits=True)
    fixes = [
        change_fix(setup, id="loss-builtin", family_name="stable_loss",
                   title=f"Replace the hand-written loss with keras.losses.{loss.describe()}",
                   activation=probabilities, loss=loss),
        change_fix(setup, id="loss-builtin-logits", family_name="stable_loss",
                   title=f"Linear output with keras.losses.{logits.describe()}",
                   activation=Activation.LINEAR, loss=logits, magnitude=1.2),
    ]
    return [fix for fix in fixes if fix is not None]
