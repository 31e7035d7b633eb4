"""Rules on the optimizer and the update, and on the script's legacy Keras spellings.

O501 compares the learning rate with the range each optimizer is normally used in; a
schedule is judged by its largest value over its first steps. O503 (a probe rule) asks
whether the script's own train_step moves the weights down its compiled loss at all. K601
reports, once per spelling, every legacy API that nanfix translated so the script could run
under Keras 3.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

from nanfix.findings.catalog import Context, Line, rule
from nanfix.findings.numerics import runs_of, seeds_of
from nanfix.records import Severity, Stage

# The learning rates each optimizer is normally used with (lowest, highest).
USUAL_LEARNING_RATES = {
    "SGD": (1e-5, 1.0),
    "Adam": (1e-6, 1e-2),
    "AdamW": (1e-6, 1e-2),
    "Nadam": (1e-6, 1e-2),
    "Adamax": (1e-6, 1e-2),
    "RMSprop": (1e-6, 1e-2),
    "Lamb": (1e-6, 1e-2),
    "Lion": (1e-7, 1e-3),
    "Adagrad": (1e-5, 1.0),
    "Adadelta": (1e-5, 10.0),
}
# Steps at which a schedule is evaluated: a warm-up that starts at 0 is judged by its peak.
SCHEDULE_STEPS = (0, 10, 100, 1000, 10000)


def _inner(optimizer: Any) -> Any:
    """The optimizer doing the updates (a LossScaleOptimizer wraps another one)."""
    return getattr(optimizer, "inner_optimizer", None) or optimizer


def learning_rate_of(optimizer: Any) -> tuple[float | None, str | None]:
    """(the largest learning rate over the first steps, the schedule's class name or None)."""
    rate = getattr(optimizer, "_learning_rate", None)
    try:
        from keras.optimizers.schedules import LearningRateSchedule

        if isinstance(rate, LearningRateSchedule):
            return max(float(rate(step)) for step in SCHEDULE_STEPS), type(rate).__name__
        if callable(rate) and not hasattr(rate, "numpy"):
            return float(rate()), "callable"
        return float(optimizer.learning_rate), None
    except Exception:  # noqa: BLE001 - an exotic schedule is simply not judged
        return None, None


@rule("O501", "learning-rate-out-of-range", "Learning rate far outside the usual range",
      Severity.WARNING, stage=Stage.PREFLIGHT,
      points_at=Line.OPTIMIZER)
def learning_rate_out_of_range(context: Context):
    """
    ## What it means
    The learning rate (for a schedule, its largest value at steps 0, 10, 100, 1000 and 10000) lies
    outside the range nanfix takes as usual for this optimizer: 1e-5..1 for SGD and Adagrad,
    1e-6..1e-2 for Adam, AdamW, Nadam, Adamax, RMSprop and Lamb, 1e-7..1e-3 for Lion, 1e-5..10 for
    Adadelta. Other optimizers are not judged.

    ## Why it matters
    Too large, and every step overshoots: the loss oscillates, explodes, and ends in NaN (SGD at 3.0
    on unscaled inputs, Adam at 0.1). Too small, and the weights barely move: the loss looks stuck
    at its starting value for the whole run, which is easy to mistake for a bug elsewhere.

    ## How to fix
    Start inside the range where these optimizers usually train: SGD 1e-3 .. 0.1, Adam/RMSprop/
    Nadam/Adamax 1e-5 .. 1e-3 (Keras' default 1e-3). nanfix's lr sweep measures which value trains
    this model.

    ## Example
    ```python
    keras.optimizers.Adam(learning_rate=0.1)  # before
    keras.optimizers.Adam(learning_rate=1e-3)  # after
    ```
    """
    optimizer = _inner(context.optimizer)
    name = type(optimizer).__name__
    if optimizer is None or name not in USUAL_LEARNING_RATES:
        return None
    rate, schedule = learning_rate_of(optimizer)
    if rate is None:
        return None
    low, high = USUAL_LEARNING_RATES[name]
    if low <= rate <= high:
        return None
    side = "above" if rate > high else "below"
    what = f"the {schedule} schedule peaks at" if schedule else "the learning rate is"
    return context.finding(
        f"{what} {rate:g} for {name}, far {side} its usual range {low:g}..{high:g}",
        where=context.origin("optimizer") or context.origin("compile"),
        optimizer=name,
        learning_rate=rate,
        schedule=schedule,
        usual_range=[low, high],
        side=side,
    )


LEGACY_ADVICE = {
    "lr": (
        "`lr=` (the Keras 2 spelling of the learning rate)",
        "`learning_rate=`",
        "keras.optimizers.SGD(learning_rate=0.01)",
    ),
    "input_shape": (
        "the `layer.input_shape` attribute (gone in Keras 3)",
        "layer.input.shape",
        "print(layer.input.shape)",
    ),
    "output_shape": (
        "the `layer.output_shape` attribute (gone in Keras 3)",
        "layer.output.shape",
        "print(layer.output.shape)",
    ),
    "fit_generator": (
        "`model.fit_generator` (gone in Keras 3)",
        "model.fit, which takes generators",
        "model.fit(generator, steps_per_epoch=..., epochs=...)",
    ),
}


@rule("K601", "legacy-keras-api", "Legacy Keras API translated to run the script", Severity.INFO,
      stage=Stage.PREFLIGHT)
def legacy_keras_api(context: Context):
    """
    ## What it means
    The script uses a Keras 2 spelling that Keras 3 no longer accepts (lr=, layer.input_shape,
    layer.output_shape, model.fit_generator), and nanfix translated it while running the script. The
    finding names each spelling once, with the lines that use it.

    ## Why it matters
    Each of these has one exact modern meaning (lr= is learning_rate=, fit_generator is fit,
    layer.input_shape is layer.input.shape), so the diagnosis is of the script you meant to run. It
    does not change training. Outside nanfix the script still fails (or, in an old environment, runs
    on an old Keras).

    ## How to fix
    Change each line named to the modern spelling.

    ## Example
    ```python
    optimizer = keras.optimizers.SGD(lr=0.01)  # before
    optimizer = keras.optimizers.SGD(learning_rate=0.01)  # after
    ```
    """
    if context.capture is None:
        return None
    lines: dict[str, list[str | None]] = {}
    for what, where in getattr(context.capture, "legacy", []) or []:
        lines.setdefault(what, [])
        if where not in lines[what]:
            lines[what].append(where)
    found = []
    for what, wheres in lines.items():
        old, new, example = LEGACY_ADVICE.get(what, (f"`{what}`", "its Keras 3 spelling", None))
        known = [where for where in wheres if where]
        at = f" at {', '.join(known)}" if known else ""
        message = f"nanfix ran your script by translating {old}{at}; change it to {new}"
        found.append(
            context.finding(
                message,
                where=known[0] if known else None,
                legacy=what,
                lines=known,
                replacement=new,
                example=example,
            )
        )
    return found or None


@rule("O502", "tiny-batch", "Batches of one or two samples with heavy momentum", Severity.WARNING,
      stage=Stage.PREFLIGHT,
      points_at=Line.OPTIMIZER,
      # batches of at most this many samples with SGD momentum of at least this much follow one
      # sample's gradient and swing past the minimum
      limits={"batch_size": 2, "momentum": 0.9})
def tiny_batch(context: Context):
    """
    ## What it means
    The batches hold one or two samples (batch_size of 2 or less by default) and the optimizer's
    momentum (SGD's or RMSprop's `momentum`) is 0.9 or more.

    ## Why it matters
    Each step follows the gradient of one or two samples, which points somewhere different every
    time; heavy momentum adds those steps up, so the weights swing past the minimum and the loss
    oscillates instead of settling (S804). The same rate that trains well with 32 samples a batch
    can fail to converge here, and each epoch takes one step per sample.

    ## How to fix
    Use a larger batch (batch_size=32 is the usual start), or less momentum and a lower rate. nanfix
    measures batches of 32 and 128.

    ## Example
    ```python
    model.fit(x_train, y_train, batch_size=1, epochs=10)  # before, with SGD(momentum=0.9)
    model.fit(x_train, y_train, batch_size=32, epochs=10)  # after
    ```
    """
    optimizer = _inner(context.optimizer)
    batch = getattr(context.data, "batch_size", None)
    momentum = getattr(optimizer, "momentum", None)
    try:
        momentum = float(momentum) if momentum is not None else None
    except (TypeError, ValueError):
        momentum = None
    limits = context.limits
    if not batch or batch > limits.batch_size or momentum is None or momentum < limits.momentum:
        return None
    return context.finding(
        f"batch_size={batch} with {type(optimizer).__name__}(momentum={momentum:g}): each step "
        "follows one sample's gradient and the momentum swings past the minimum",
        where=context.origin("fit"),
        batch_size=int(batch),
        momentum=momentum,
    )


@rule("O504", "momentum-not-below-one", "Momentum of 1 or more never forgets a step",
      Severity.ERROR,
      stage=Stage.PREFLIGHT, points_at=Line.OPTIMIZER,
      limits={"momentum": 1.0})  # a momentum of this much or more never decays its velocity
def momentum_not_below_one(context: Context):
    """
    ## What it means
    An optimizer's momentum (SGD's `momentum`, RMSprop's `momentum`) is 1.0 or more (the limit,
    1.0 by default).

    ## Why it matters
    With momentum 1 the velocity never decays (velocity = momentum * velocity - learning_rate * g),
    so every past gradient keeps pushing forever: the loss oscillates with growing amplitude and
    usually explodes or never settles. Keras 3's SGD refuses a momentum above 1 (or one that is not
    a float) when the optimizer is created (ValueError "`momentum` must be a float between [0, 1]."),
    so for SGD it is momentum=1.0 exactly that reaches training; RMSprop does not check its momentum.

    ## How to fix
    Use momentum 0.9, the usual value; nanfix measures that change.

    ## Example
    ```python
    keras.optimizers.SGD(learning_rate=0.01, momentum=1.0)  # before
    keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)  # after
    ```
    """
    optimizer = _inner(context.optimizer)
    try:
        momentum = float(getattr(optimizer, "momentum", None))
    except (TypeError, ValueError):
        return None
    if momentum < context.limits.momentum:
        return None
    name = type(optimizer).__name__
    return context.finding(f"{name}(momentum={momentum:g}): a momentum of {context.limits.momentum:g} or "
                           "more never decays, so every past gradient keeps pushing and the loss "
                           "swings ever wider", where=context.origin("optimizer") or context.origin("compile"),
                           optimizer=name, momentum=momentum)


@rule("O503", "update-ascends-loss", "The train step's update climbs the loss", Severity.ERROR,
      stage=Stage.PROBE,
      measures_cause=True, points_at=Line.OPTIMIZER,
      # the step ascends when the median cosine between its update and the loss's gradient is
      # below this on most seeds (a sign error gives -1; dropout and clipping stay well above 0)
      limits={"cosine": 0.0})
def update_ascends_loss(context: Context):
    """
    ## What it means
    The model's own `train_step` hands the optimizer an update that points up the compiled loss, not
    down it: on most seeds the median cosine between the update it applies and the loss's gradient is
    below 0 by default (-1 is an exact sign flip). Only a model that overrides train_step is checked.

    ## Why it matters
    `fit` runs that step, so the loss rises or wanders whatever the learning rate: the Keras log
    shows a loss that grows, or never falls, from the first epoch. Dropout and clipping keep an
    honest step's cosine well above 0, so this is not noise.

    ## How to fix
    Look for a negated gradient or loss, gradients paired with the wrong variables, or a loss that is
    maximised on purpose but compiled as the one to minimise. No setting of the optimizer cures this;
    the step has to be mended by hand.

    ## Example
    ```python
    self.optimizer.apply([-g for g in grads], self.trainable_variables)  # before
    self.optimizer.apply(grads, self.trainable_variables)  # after
    ```
    """
    runs = [run for run in runs_of(context) if run.signals.update_alignment is not None]
    against = [run for run in runs if run.signals.update_alignment < context.limits.cosine]
    if not runs or len(against) * 2 <= len(runs):
        return None
    cosine = sorted(run.signals.update_alignment for run in against)[len(against) // 2]
    step = type(context.model).__qualname__ + ".train_step"
    return context.finding(f"{step} applies an update against the loss's gradient (median cosine "
                   f"{cosine:+.2f}, seeds {seeds_of(against)})", where=_train_step_line(context.model),
                   cosine=cosine, seeds=[run.seed for run in against])


def _train_step_line(model: Any) -> str | None:
    try:
        lines, start = inspect.getsourcelines(type(model).train_step)
        return f"{os.path.basename(inspect.getsourcefile(type(model).train_step))}:{start}"
    except (OSError, TypeError):
        return None
