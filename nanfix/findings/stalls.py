"""Probe rules on stalls: the baseline stayed finite but did not learn.

Each rule picks the stalled seeds by what was measured, their `StallKind` (set by
`nanfix.probes.judge`) or their loss against chance, never by the words of their reason, so
rewording a message cannot change a finding. A seed can show two symptoms at once: a model
that predicts one class for everything usually sits at the chance loss too.
"""

from __future__ import annotations

import numpy as np

from nanfix.findings.catalog import Context, rule
from nanfix.findings.numerics import runs_of
from nanfix.records import Outcome, Severity, Stage, StallKind, Symptom


def _stalled(context: Context):
    return [run for run in runs_of(context) if run.outcome is Outcome.STALLED]


def _at_chance(context: Context, run) -> bool:
    return run.stall is StallKind.CHANCE_LOSS or \
        context.task.at_chance_loss(run.final_loss, context.thresholds.chance_tolerance)


@rule("S801", "stall-at-chance", "Loss flat at chance level", Severity.ERROR, stage=Stage.PROBE,
      symptom=Symptom.STALL, names_verdict=True)
def stall_at_chance(context: Context):
    """
    ## What it means
    The probe did not learn and its loss sits within 3% (by default) of the value of a uniform guess:
    ln(classes) for cross-entropy, e.g. 2.3026 for 10 classes, 0.6931 for a binary task. The network
    outputs the same distribution for every input.

    ## Why it matters
    A uniform guess is what a model that learned nothing from its inputs scores: accuracy stays
    near chance and the Keras log prints the same loss, 2.3026, epoch after epoch. Common causes: an
    output activation that does not match the loss, saturated or dead units after a too-large step on
    unscaled inputs, or a learning rate so small nothing moves.

    ## How to fix
    Fix the cause the pre-flight findings name (P301, D104, O501, M402); nanfix measures scaled
    inputs, other learning rates, initialisers, activations and output/loss pairs.

    ## Example
    ```python
    model.fit(x_train, y_train, epochs=5)  # before: pixels 0..255, SGD(learning_rate=0.1)
    model.fit(x_train / 255.0, y_train, epochs=5)  # after
    ```
    """
    runs = [run for run in _stalled(context) if _at_chance(context, run)]
    if not runs:
        return None
    message = context.task.chance_loss_text(runs[0].final_loss)
    return context.finding(f"{message} in {len(runs)}/{len(runs_of(context))} seeds",
                   seeds=[run.seed for run in runs], final_loss=runs[0].final_loss,
                   accuracy=runs[0].val_accuracy)


@rule("S802", "constant-predictions", "The model predicts one class for everything", Severity.ERROR,
      stage=Stage.PROBE, symptom=Symptom.STALL, names_verdict=True)
def constant_predictions(context: Context):
    """
    ## What it means
    After the probe the classifier gives the same prediction for (nearly) every input, one class for
    95% of the samples or more by default, whatever the loss prints, and it did not learn.

    ## Why it matters
    This is how dead ReLU layers, saturated outputs and mismatched output/loss pairs look from
    outside: accuracy equals the share of the majority class and stays there from epoch to epoch.
    (When that accuracy is 99% or more, the targets hold one class: S806.)

    ## How to fix
    Look at the unit and pairing findings that come with it (U901, U902, P301, D104); nanfix measures
    scaled inputs, lower learning rates, initialisers, BatchNormalization and output/loss pairs.

    ## Example
    ```python
    keras.optimizers.SGD(learning_rate=1.0)  # before: one large step kills the ReLU units
    keras.optimizers.SGD(learning_rate=0.01)  # after
    ```
    """
    runs = [run for run in _stalled(context) if run.stall is StallKind.CONSTANT_PREDICTIONS]
    if not runs:
        return None
    return context.finding(f"{runs[0].reason} in {len(runs)}/{len(runs_of(context))} seeds",
                   seeds=[run.seed for run in runs], accuracy=runs[0].val_accuracy)


@rule("S803", "not-learning", "Loss does not fall", Severity.WARNING, stage=Stage.PROBE,
      symptom=Symptom.STALL, names_verdict=True)
def not_learning(context: Context):
    """
    ## What it means
    Within the probe budget the evaluation loss did not fall clearly below its start (by 10% by
    default), or accuracy did not rise clearly above chance (10% of the way to 1), or a regression
    did no better than predicting its targets' mean, or the loss fell and came back, although every
    value stayed finite. A stall at chance loss or on one class is S801, S802 or S806 instead.

    ## Why it matters
    Either the learning rate is too small for the budget, or something (a clipped log in the loss, a
    saturated output, a wrong label format) cuts the gradient signal. A change that only hides a NaN
    often lands here. The Keras log shows a loss that creeps or stays level.

    ## How to fix
    Fix the cause the other findings name; nanfix measures other learning rates, Adam at 1e-3, a loss
    that fits the targets and a matching output/loss pair.

    ## Example
    ```python
    keras.optimizers.SGD(learning_rate=1e-4)  # before
    keras.optimizers.Adam(learning_rate=1e-3)  # after
    ```
    """
    runs = [run for run in _stalled(context) if not _at_chance(context, run)
            and run.stall not in (StallKind.CHANCE_LOSS, StallKind.CONSTANT_PREDICTIONS,
                                  StallKind.ONE_CLASS)]
    if not runs:
        return None
    return context.finding(f"{runs[0].reason} in {len(runs)}/{len(runs_of(context))} seeds",
                   seeds=[run.seed for run in runs], start_loss=runs[0].start_loss,
                   final_loss=runs[0].final_loss, accuracy=runs[0].val_accuracy)


@rule("S806", "one-class-fit", "A perfect fit to targets of one class", Severity.ERROR,
      stage=Stage.PROBE, voids_task=True)
def one_class_fit(context: Context):
    """
    ## What it means
    The classifier predicts one class for (nearly) every sample, 95% or more by default, and is right
    almost every time, 99% or more: the loss falls to about zero and the accuracy reads about 1.0.

    ## Why it matters
    That is not a model that learned, it is a task with (nearly) one class in its targets, so every
    curve looks perfect and means nothing, and nanfix calls no training healthy while this finding
    stands. The usual cause is labels that were scaled or cast together with the inputs (y / 255 cast
    to integers is class 0 everywhere), the wrong label column, or data filtered to one class.

    ## How to fix
    Look at np.unique(y, return_counts=True) before training, and rebuild the labels so that every
    class is present.

    ## Example
    ```python
    y_train = (y_train / 255).astype("int64")  # before: class 0 everywhere
    y_train = y_train.astype("int64")  # after
    print(np.unique(y_train, return_counts=True))  # after: every class present
    ```
    """
    runs = [run for run in _stalled(context) if run.stall is StallKind.ONE_CLASS]
    if not runs:
        return None
    return context.finding(f"{runs[0].reason} in {len(runs)}/{len(runs_of(context))} seeds",
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
      symptom=Symptom.OSCILLATION,
      # the spread of the loss's second half against its mean, and the share of its steps that
      # cross its running trend, from which a stalled loss oscillates
      limits={"spread": 0.5, "crossings": 0.3})
def oscillating_loss(context: Context):
    """
    ## What it means
    The probe did not learn and its training loss jumps up and down from step to step without
    settling, although it stays finite: over its second half the loss spreads by half its mean or
    more and crosses its own running trend on 30% of the steps or more (the defaults).

    ## Why it matters
    Each step overshoots. A rate too high for the batch size does it, and so do tiny batches (one or
    two samples) with heavy momentum, where every step follows one sample's gradient and the momentum
    keeps swinging past the minimum. The Keras log shows a loss that goes up and down with no trend.

    ## How to fix
    Use a larger batch (32 or more), a lower learning rate or less momentum. nanfix measures larger
    batches and lower rates.

    ## Example
    ```python
    model.fit(x_train, y_train, batch_size=1, epochs=10)  # before
    model.fit(x_train, y_train, batch_size=32, epochs=10)  # after
    ```
    """
    limits = context.limits
    runs = []
    for run in _stalled(context):
        measured = oscillation(_finite_losses(run))
        if measured and measured[0] >= limits.spread and measured[1] >= limits.crossings:
            runs.append((run, measured))
    if not runs:
        return None
    run, (spread, crossings) = runs[0]
    return context.finding(f"the loss swings by {spread:.0%} of its mean around its trend and crosses "
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
      stage=Stage.PROBE, symptom=Symptom.STALL,
      limits={"weight_change": 0.01})  # no layer's weight norm moving by this share: too slow
def slow_convergence(context: Context):
    """
    ## What it means
    On most seeds the weights barely moved: over the whole probe no layer's weight norm changed by
    even 1% (by default), so the loss can only creep.

    ## Why it matters
    The training would need orders of magnitude more steps than it has. The usual cause is a learning
    rate far below the optimizer's usual range (Adam at 1e-7), sometimes a decay schedule that shrank
    it to nothing; gradients that vanish before the first layers (U903) look the same from outside.
    The Keras log shows a loss that changes only in its last digits from epoch to epoch.

    ## How to fix
    Raise the learning rate (by 10x at a time, watching for divergence) or use Adam at 1e-3. nanfix
    measures higher rates, Adam and a loss that fits the targets.

    ## Example
    ```python
    keras.optimizers.Adam(learning_rate=1e-7)  # before
    keras.optimizers.Adam(learning_rate=1e-3)  # after
    ```
    """
    limit = context.limits.weight_change
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
    return context.finding(f"in {run.steps_run} steps no layer's weights moved by more than {moved:.2%} "
                           f"of their size and the loss fell {max(fell, 0.0):.1%} "
                           f"({len(runs)}/{len(runs_of(context))} seeds): each step is far too small",
                   seeds=[item[0].seed for item in runs], weight_change=moved, steps=run.steps_run)
