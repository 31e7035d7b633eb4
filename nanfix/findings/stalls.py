"""Probe rules on stalls: the baseline stayed finite but did not learn.

Each rule picks the stalled seeds by what was measured, their `StallKind` (set by
`nanfix.probe.judge`) or their loss against chance, never by the words of their reason, so
rewording a message cannot change a finding. A seed can show two symptoms at once: a model
that predicts one class for everything usually sits at the chance loss too.
"""

from __future__ import annotations

from nanfix.findings.catalog import Context, finding, rule
from nanfix.findings.numerics import runs_of
from nanfix.records import Outcome, Severity, Stage, StallKind


def _stalled(context: Context):
    return [run for run in runs_of(context) if run.outcome is Outcome.STALLED]


def _at_chance(context: Context, run) -> bool:
    return run.stall is StallKind.CHANCE_LOSS or \
        context.task.at_chance_loss(run.final_loss, context.thresholds.chance_tolerance)


@rule("S801", "stall-at-chance", "Loss flat at chance level", Severity.ERROR, stage=Stage.PROBE,
      explanation="""
The loss sits at the value of a uniform guess (ln(classes) for cross-entropy, e.g. 2.3026 for
10 classes) and accuracy near 1/classes: the network outputs the same distribution for every
input. Common causes: an output activation that does not match the loss (sigmoid under
categorical cross-entropy), saturated or dead units after a too-large step on unscaled inputs,
or a learning rate so small nothing moves.""")
def stall_at_chance(context: Context):
    runs = [run for run in _stalled(context) if _at_chance(context, run)]
    if not runs:
        return None
    message = context.task.chance_loss_text(runs[0].final_loss)
    return finding("S801", f"{message} in {len(runs)}/{len(runs_of(context))} seeds",
                   seeds=[run.seed for run in runs], final_loss=runs[0].final_loss,
                   accuracy=runs[0].val_accuracy)


@rule("S802", "constant-predictions", "The model predicts one class for everything", Severity.ERROR,
      stage=Stage.PROBE,
      explanation="""
After the probe the model gives the same prediction for (nearly) every input, whatever the loss
prints. This is how dead ReLU layers, saturated outputs and mismatched output/loss pairs look from
outside: accuracy equals the share of the majority class.""")
def constant_predictions(context: Context):
    runs = [run for run in _stalled(context) if run.stall is StallKind.CONSTANT_PREDICTIONS]
    if not runs:
        return None
    return finding("S802", f"{runs[0].reason} in {len(runs)}/{len(runs_of(context))} seeds",
                   seeds=[run.seed for run in runs], accuracy=runs[0].val_accuracy)


@rule("S803", "not-learning", "Loss does not fall", Severity.WARNING, stage=Stage.PROBE,
      explanation="""
Within the probe budget the evaluation loss did not fall clearly below its start, or accuracy
did not rise clearly above chance, although every value stayed finite. Either the learning rate
is too small for the budget, or something (a clipped log in the loss, a saturated output, a
wrong label format) cuts the gradient signal. A change that only hides a NaN often lands here.""")
def not_learning(context: Context):
    runs = [run for run in _stalled(context) if not _at_chance(context, run)
            and run.stall not in (StallKind.CHANCE_LOSS, StallKind.CONSTANT_PREDICTIONS)]
    if not runs:
        return None
    return finding("S803", f"{runs[0].reason} in {len(runs)}/{len(runs_of(context))} seeds",
                   seeds=[run.seed for run in runs], start_loss=runs[0].start_loss,
                   final_loss=runs[0].final_loss, accuracy=runs[0].val_accuracy)
