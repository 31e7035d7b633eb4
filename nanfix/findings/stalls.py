"""Probe rules on stalls: the baseline stayed finite but did not learn.

Each rule picks the stalled seeds by what was measured, their `StallKind` (set by
`nanfix.probes.judge`) or their loss against chance, never by the words of their reason, so
rewording a message cannot change a finding. A seed can show two symptoms at once: a model
that predicts one class for everything usually sits at the chance loss too.
"""

from __future__ import annotations

import numpy as np

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
            and run.stall not in (StallKind.CHANCE_LOSS, StallKind.CONSTANT_PREDICTIONS,
                                  StallKind.ONE_CLASS)]
    if not runs:
        return None
    return finding("S803", f"{runs[0].reason} in {len(runs)}/{len(runs_of(context))} seeds",
                   seeds=[run.seed for run in runs], start_loss=runs[0].start_loss,
                   final_loss=runs[0].final_loss, accuracy=runs[0].val_accuracy)


@rule("S806", "one-class-fit", "A perfect fit to targets of one class", Severity.ERROR,
      stage=Stage.PROBE, voids_task=True,
      explanation="""
The model predicts one class for every sample and is right almost every time: the loss falls
to about zero and the accuracy reads 1.0 within the first steps. That is not a model that
learned, it is a task with (nearly) one class in its targets, so every curve looks perfect and
means nothing. The usual cause is labels that were scaled or cast together with the inputs
(y / 255 cast to integers is class 0 everywhere), the wrong label column, or data filtered to
one class. Look at np.unique(y, return_counts=True) before training.""")
def one_class_fit(context: Context):
    runs = [run for run in _stalled(context) if run.stall is StallKind.ONE_CLASS]
    if not runs:
        return None
    return finding("S806", f"{runs[0].reason} in {len(runs)}/{len(runs_of(context))} seeds",
                   seeds=[run.seed for run in runs], accuracy=runs[0].val_accuracy,
                   final_loss=runs[0].final_loss)


def _finite_losses(run) -> np.ndarray:
    return np.asarray([value for value in run.loss if value is not None], dtype=np.float64)


def oscillation(losses: np.ndarray, window: int = 10) -> tuple[float, float] | None:
    """(spread of the second half / its mean, share of its steps that cross the running
    mean): a loss that jumps around its trend rather than following it."""
    tail = losses[len(losses) // 2:]
    if tail.size < 2 * window or np.mean(tail) <= 0:
        return None
    trend = np.convolve(tail, np.ones(window) / window, mode="valid")
    above = tail[window - 1:] > trend
    crossings = float(np.mean(above[1:] != above[:-1]))
    return float(np.std(tail) / np.mean(tail)), crossings


@rule("S804", "oscillating-loss", "The loss oscillates without settling", Severity.WARNING,
      stage=Stage.PROBE,
      explanation="""
The training loss jumps up and down from step to step and does not settle, although it stays
finite: each step overshoots. A rate too high for the batch size does it, and so do tiny
batches (one or two samples) with heavy momentum, where every step follows one sample's
gradient and the momentum keeps swinging past the minimum.
Use a larger batch (32 or more), a lower learning rate or less momentum.""")
def oscillating_loss(context: Context):
    thresholds = context.thresholds
    runs = []
    for run in _stalled(context):
        measured = oscillation(_finite_losses(run))
        if measured and measured[0] >= thresholds.oscillation_spread and \
                measured[1] >= thresholds.oscillation_crossings:
            runs.append((run, measured))
    if not runs:
        return None
    run, (spread, crossings) = runs[0]
    return finding("S804", f"the loss swings by {spread:.0%} of its mean around its trend and crosses "
                           f"it on {crossings:.0%} of the steps, without falling "
                           f"({len(runs)}/{len(runs_of(context))} seeds)",
                   seeds=[item[0].seed for item in runs], spread=spread, crossings=crossings)


def weight_movement(run) -> float | None:
    """The largest relative change of a layer's weight norm over the probe: how far the
    weights moved (a lower bound: a norm cannot say how far they turned)."""
    changes = []
    for norms in run.weight_norm.values():
        finite = [value for value in norms if value is not None]
        if len(finite) >= 2 and finite[0] > 0:
            changes.append(abs(finite[-1] - finite[0]) / finite[0])
    return max(changes) if changes else None


@rule("S805", "slow-convergence", "The loss falls far too slowly", Severity.WARNING,
      stage=Stage.PROBE,
      explanation="""
The weights barely move: over the whole probe no layer's weights changed by even 1% of their
size, so the loss can only creep, and the training would need orders of magnitude more steps
than it has. The usual cause is a learning rate far below the optimizer's usual range (SGD at
1e-5, Adam at 1e-7), sometimes a decay schedule that shrank it to nothing; gradients that
vanish before the first layers (U903) look the same from outside.
Raise the learning rate (by 10x at a time, watching for divergence) or use Adam at 1e-3.""")
def slow_convergence(context: Context):
    limit = context.thresholds.slow_weight_change
    runs = []
    for run in _stalled(context):
        if run.stall in (StallKind.ONE_CLASS, StallKind.CONSTANT_PREDICTIONS):
            continue
        moved = weight_movement(run)
        if moved is not None and moved < limit:
            runs.append((run, moved))
    if len(runs) * 2 <= len(runs_of(context)):
        return None
    run, moved = max(runs, key=lambda item: item[1])
    fell = (run.start_loss - run.final_loss) / run.start_loss if run.start_loss and run.final_loss is not None else 0.0
    return finding("S805", f"in {run.steps_run} steps no layer's weights moved by more than {moved:.2%} "
                           f"of their size and the loss fell {max(fell, 0.0):.1%} "
                           f"({len(runs)}/{len(runs_of(context))} seeds): each step is far too small",
                   seeds=[item[0].seed for item in runs], weight_change=moved, steps=run.steps_run)
