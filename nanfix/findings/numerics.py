"""Probe rules on numerics: what the baseline's curves and monitors show about NaN/Inf,
explosions, growing weights and gradients, and Adam's second moment.

These read the per-seed results (outcome, first non-finite event, signals such as weight
growth and Adam's second moment) and turn them into findings with evidence; every
threshold they compare with comes from `context.thresholds`.
"""

from __future__ import annotations

import math
from dataclasses import asdict

from nanfix.findings.catalog import Context, Line, rule
from nanfix.records import NonFiniteKind, Severity, Stage, Symptom


def runs_of(context: Context):
    """The baseline's seed runs (none before the probe)."""
    return context.baseline.runs if context.baseline else []


def seeds_of(runs) -> str:
    return ", ".join(str(run.seed) for run in runs)


def worst_layer(context: Context, per_layer, counts) -> tuple[str, float, int] | None:
    """(layer, value, seed) of the largest value of `per_layer(run.signals)` (a measurement per
    layer) over the seeds, among the values for which `counts(value)` holds, or None."""
    worst = None
    for run in runs_of(context):
        for layer, value in per_layer(run.signals).items():
            if counts(value) and (worst is None or value > worst[1]):
                worst = (layer, value, run.seed)
    return worst

@rule("N701", "nonfinite-training", "Training produces NaN/Inf", Severity.ERROR, stage=Stage.PROBE,
      symptom=Symptom.DIVERGENCE, names_verdict=True, points_at=Line.FIRST_NONFINITE)
def nonfinite_training(context: Context):
    """
    ## What it means
    A value in the training step stopped being a finite number: a layer's output, the loss, a
    gradient or an updated weight became NaN or Inf. nanfix names the first step and the first place
    where it happened, and replays that step with TensorFlow's numerics checks to name the op.

    ## Why it matters
    Once one weight is NaN every later prediction is NaN, and Keras reports `loss: nan` with accuracy
    stuck at chance. The usual causes are a learning rate too large for the scale of the inputs and
    weights, a log/division of 0 in the loss, unbounded activations, or huge initial weights.

    ## How to fix
    Fix the cause the other findings point at; the ranked fixes in the report were measured on this
    model.

    ## Example
    ```python
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=3.0), loss="mse")  # before
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")  # after
    ```
    """
    bad = [run for run in runs_of(context) if run.first_nonfinite is not None]
    if not bad:
        return None
    first = min((run.first_nonfinite for run in bad), key=lambda event: event.step)
    op = context.numerics.get("op")
    message = (f"non-finite {first.kind} in {len(bad)}/{len(runs_of(context))} seeds, first at step "
               f"{first.step}" + (f" in layer {first.layer}" if first.layer else "")
               + (f" (op {op}, {context.numerics.get('stage')})" if op else ""))
    return context.finding(message, where=first.origin or context.origin("compile"),
                   seeds=[run.seed for run in bad], first_step=first.step, kind=first.kind,
                   layer=first.layer, op=op, stage=context.numerics.get("stage"))


@rule("N702", "silent-nonfinite-weights", "Weights turned NaN while the loss still prints a number",
      Severity.ERROR, stage=Stage.PROBE, symptom=Symptom.DIVERGENCE, points_at=Line.FIRST_NONFINITE)
def silent_nonfinite_weights(context: Context):
    """
    ## What it means
    The first value of the probe to become NaN or Inf was a weight, or a non-trainable state such as
    a BatchNormalization moving statistic, at a step whose layer outputs, loss and gradients were
    still finite.

    ## Why it matters
    The training log looks calm because the broken weights are not (yet) on the path to the loss: a
    moving statistic of BatchNormalization, an embedding row not in the batch, a unit whose input is
    always zero. They poison inference (predict and evaluate use the moving statistics) and the first
    batch that touches them.

    ## How to fix
    Look at the layer named in the evidence, then take smaller steps: a lower learning rate or
    gradient clipping. nanfix measures lower rates, clipping and a larger epsilon.

    ## Example
    ```python
    keras.optimizers.Adam(learning_rate=0.1)  # before
    keras.optimizers.Adam(learning_rate=1e-3, clipnorm=1.0)  # after
    ```
    """
    silent = [run for run in runs_of(context)
              if run.first_nonfinite is not None and run.first_nonfinite.kind is NonFiniteKind.WEIGHT]
    if not silent:
        return None
    event = silent[0].first_nonfinite
    return context.finding(f"weights of layer {event.layer} became non-finite at step {event.step} "
                   f"while the loss was finite (seeds {seeds_of(silent)})", where=event.origin,
                   layer=event.layer, step=event.step)


@rule("N703", "loss-explosion", "Loss explodes", Severity.ERROR, stage=Stage.PROBE,
      symptom=Symptom.DIVERGENCE, names_verdict=True)
def loss_explosion(context: Context):
    """
    ## What it means
    While still finite, the training loss climbed far above where it started: by more than the
    explode factor (100 by default) times its starting value, and above 100 times its best so far.

    ## Why it matters
    With gradient descent this is the signature of steps too large for the curvature: the learning
    rate is too high for the scale of the inputs, targets or weights, or an unbounded activation
    feeds back on itself. The Keras log shows the loss growing from epoch to epoch; if nothing stops
    it, it ends in Inf and then `loss: nan`.

    ## How to fix
    Remove the cause the pre-flight findings name (unscaled inputs or targets, large initial
    weights), or take smaller steps: a lower learning rate, gradient clipping or a warm-up. nanfix
    measures these.

    ## Example
    ```python
    keras.optimizers.SGD(learning_rate=1.0)  # before
    keras.optimizers.SGD(learning_rate=0.01, clipnorm=1.0)  # after
    ```
    """
    exploded = [run for run in runs_of(context) if run.signals.exploded_at is not None]
    if not exploded:
        return None
    first = min(run.signals.exploded_at for run in exploded)
    return context.finding(f"loss exploded in {len(exploded)}/{len(runs_of(context))} seeds, first at "
                   f"step {first}", where=context.origin("compile"), first_step=first,
                   seeds=[run.seed for run in exploded])


@rule("N704", "weight-growth", "Weights grow by orders of magnitude", Severity.WARNING,
      stage=Stage.PROBE, symptom=Symptom.DIVERGENCE,
      limits={"growth": 50.0})  # a layer whose weight norm grew by this factor is growing
def weight_growth(context: Context):
    """
    ## What it means
    The norm of some layer's weights grew far beyond its initial value during a short probe: more than
    50 times by default. The finding names the layer and seed with the largest growth.

    ## Why it matters
    Healthy training moves weights by a modest fraction; growth by orders of magnitude means every
    update overshoots (learning rate too large, gradients amplified by unscaled inputs or a deep
    unbounded stack) and precedes an overflow to Inf/NaN. The Keras log may still print finite
    losses, erratic ones, a few epochs before `loss: nan`.

    ## How to fix
    Lower the learning rate or clip the gradients; fan-in-scaled initial weights and
    BatchNormalization keep the layers' scale from drifting. nanfix measures each of these.

    ## Example
    ```python
    keras.optimizers.SGD(learning_rate=0.5)  # before
    keras.optimizers.SGD(learning_rate=0.05, clipnorm=1.0)  # after
    ```
    """
    factor = context.limits.growth
    worst = worst_layer(context, lambda signals: signals.weight_growth, lambda growth: growth > factor)
    if worst is None:
        return None
    layer, growth, seed = worst
    return context.finding(f"weights of layer {layer} grew {growth:.3g}x during the probe (seed {seed})",
                   layer=layer, growth=growth, seed=seed)


@rule("N705", "gradient-explosion", "Gradient norm explodes", Severity.WARNING, stage=Stage.PROBE,
      symptom=Symptom.DIVERGENCE,
      limits={"factor": 1000.0})  # the global gradient norm rising this much over its first value
def gradient_explosion(context: Context):
    """
    ## What it means
    The global gradient norm rose far above its value at the first step: 1000 times or more by
    default.

    ## Why it matters
    Exploding gradients make a fixed learning rate far too large at exactly the wrong moment: one
    step throws the weights far from where they were. The Keras log shows sudden spikes of the loss,
    often followed by `loss: nan`.

    ## How to fix
    Gradient clipping (clipnorm or global_clipnorm) bounds each step; a lower learning rate, a
    warm-up, scaled inputs and a better initialisation remove the cause.

    ## Example
    ```python
    keras.optimizers.Adam(learning_rate=1e-3)  # before
    keras.optimizers.Adam(learning_rate=1e-3, global_clipnorm=1.0)  # after
    ```
    """
    ratios = []
    for run in runs_of(context):
        first, peak = run.signals.grad_norm_first, run.signals.grad_norm_max
        if first and peak and first > 0:
            ratios.append((peak / first, run.seed))
    if not ratios:
        return None
    ratio, seed = max(ratios)
    if ratio < context.limits.factor:
        return None
    return context.finding(f"gradient norm rose {ratio:.3g}x above its first value (seed {seed})",
                   ratio=ratio, seed=seed)


@rule("N706", "adam-second-moment-collapse", "Adam's second moment is collapsing toward epsilon",
      Severity.WARNING, stage=Stage.PROBE,
      measures_cause=True,
      # a warning when this share of the parameters have sqrt(v_hat) near epsilon at the end;
      # the measured cause of a late jump when, before it, the median sqrt(v_hat) was within
      # `jump_epsilon_factor` of epsilon
      limits={"share": 0.25, "jump_epsilon_factor": 100.0})
def adam_second_moment(context: Context):
    """
    ## What it means
    Adam's second moment is collapsing toward epsilon. After a late jump (N707) this is the measured
    cause, an error: before the jump Adam's median sqrt(v_hat) was within 100x of epsilon by default.
    Without a jump it is a warning: a quarter or more of the parameters sit within 10x of epsilon at
    the end of the probe.

    ## Why it matters
    Adam divides each step by sqrt(v) + epsilon, where v is a running mean of squared gradients. When
    training has fitted the data, gradients become tiny and v shrinks toward epsilon**2 while the
    first moment m can still jump: m / (sqrt(v) + eps) stops shrinking with the gradients, the
    weights keep moving by about a learning rate per step, and the loss suddenly blows up after a
    long calm descent (in one recorded run it fell for 1500 epochs, then jumped and plateaued).

    ## How to fix
    The default epsilon (1e-7; TF1's was 1e-8) is too small to damp it: raise it (1e-4 ... 1e-2). A
    lower learning rate near the end, or a loss with bounded gradients such as log-cosh, eases it.
    nanfix measures larger epsilons (1e-4 to 0.1).

    ## Example
    ```python
    keras.optimizers.Adam(learning_rate=1e-3)  # before: epsilon=1e-7
    keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-3)  # after
    ```
    """
    jumped = _adam_before_jumps(context)
    if jumped:
        return jumped
    hits = [(run.signals.adam, run.seed) for run in runs_of(context) if run.signals.adam is not None
            and run.signals.adam.fraction_near_epsilon >= context.limits.share]
    if not hits:
        return None
    adam, seed = max(hits, key=lambda hit: hit[0].fraction_near_epsilon)
    return context.finding(f"{adam.fraction_near_epsilon:.0%} of parameters have sqrt(v_hat) within "
                           f"{adam.near_factor:g}x of epsilon={adam.epsilon:g} (seed {seed}, median "
                           f"sqrt(v_hat) {adam.median_sqrt_v:.2e})", where=context.origin("optimizer"),
                           **asdict(adam))


def _adam_before_jumps(context: Context):
    """N706 as the measured cause of a late jump: before it, sqrt(v_hat) had come within
    `adam_jump_epsilon_factor` of epsilon on the seeds that jumped."""
    factor = context.limits.jump_epsilon_factor
    jumped = [run for run in runs_of(context) if run.signals.late_jump is not None]
    evidence = [(run.signals.late_jump.adam_before, run) for run in jumped
                if run.signals.late_jump.adam_before is not None]
    near = [(adam, run) for adam, run in evidence if adam.median_sqrt_v <= factor * adam.epsilon]
    if not near or len(near) * 2 < len(jumped):
        return None
    adam, run = min(near, key=lambda hit: hit[0].median_sqrt_v / hit[0].epsilon)
    jump = run.signals.late_jump
    when = "at the recorded state" if jump.adam_step == 0 and \
        run.signals.fresh_loss is not None else f"at step {jump.adam_step}"
    step = (f"; each step moved the weights by {adam.update_to_weight:.2%} of their norm"
            if adam.update_to_weight is not None else "")
    return context.finding(
        f"before the loss jumped ({len(near)}/{len(jumped)} seeds; seed {run.seed} {when}), Adam's median "
        f"sqrt(v_hat) was {adam.median_sqrt_v:.2e}, {adam.median_sqrt_v / adam.epsilon:.0f}x "
        f"epsilon={adam.epsilon:g} ({adam.fraction_near_epsilon:.0%} of parameters within "
        f"{adam.near_factor:g}x): epsilon no longer damps steps of gradients this small{step}",
        where=context.origin("optimizer"), severity=Severity.ERROR, seeds=[r.seed for _, r in near],
        jump_step=jump.step, **asdict(adam))


@rule("N707", "late-loss-jump", "Loss jumps after it had converged", Severity.ERROR,
      stage=Stage.PROBE,
      symptom=Symptom.LATE_JUMP, names_verdict=True)
def late_loss_jump(context: Context):
    """
    ## What it means
    The training loss fell to a hundredth of where a fresh model starts or less, then its mean over
    5 steps jumped to 1000 times its best or more by default (and back above a thousandth of the
    fresh model's loss), with no NaN.

    ## Why it matters
    Keras shows a long calm descent and then a sudden rise that plateaus or repeats; the loss need not
    exceed where it started, so N703 does not see it. Such a failure can take hours to come; record
    it with NanGuard(record=DIR) and probe it from the state before the jump with `nanfix probe
    train.py --from DIR`.

    ## How to fix
    With Adam the usual cause is its second moment decaying toward epsilon once the data is fitted
    (N706, raise epsilon). Otherwise the step is too large for the sharp minimum the training reached:
    a lower learning rate, a decaying schedule, or clipping.

    ## Example
    ```python
    keras.optimizers.Adam(learning_rate=1e-3)  # before
    keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-3)  # after
    ```
    """
    jumped = [run for run in runs_of(context) if run.signals.late_jump is not None]
    if not jumped:
        return None
    first = min(jumped, key=lambda run: run.signals.late_jump.step)
    jump = first.signals.late_jump
    best = f"{jump.ratio:.3g}x its best {jump.best:.3g}" if jump.best > 0 else "up from a best of 0"
    return context.finding(f"in {len(jumped)}/{len(runs_of(context))} seeds the loss jumped after "
                           f"converging; first at step {jump.step} (seed {first.seed}): to "
                           f"{jump.loss:.3g}, {best} (a fresh model's loss: {jump.first:.3g})",
                           where=context.origin("fit") or context.origin("compile"),
                           seeds=[run.seed for run in jumped], step=jump.step, loss=jump.loss,
                           best=jump.best, ratio=jump.ratio, fresh_loss=jump.first)


@rule("N708", "adam-heading-for-late-jump", "Adam is heading for a late jump", Severity.WARNING,
      stage=Stage.PROBE,
      # heading for it when the loss converges and the median sqrt(v_hat) falls at least this
      # share of Adam's fastest rate (sqrt(beta_2) per step, in log terms)
      limits={"decay_share": 0.5})
def adam_heading_for_jump(context: Context):
    """
    ## What it means
    The loss is converging toward zero (to 1e-4 of a fresh model's loss or less) and, between the
    middle and the end of the probe, Adam's median sqrt(v_hat) fell at least half as fast as it can
    (its fastest is sqrt(beta_2) per step, compared in log terms). At that rate it comes within 10x
    of epsilon before the script's own training ends (or within ten probes, when its length is
    unknown); the finding says in how many steps.

    ## Why it matters
    Nothing has gone wrong yet: the decay is the sign that the gradients have all but vanished. Once
    sqrt(v_hat) is near epsilon, m / (sqrt(v) + eps) no longer shrinks with the gradients and the
    loss can jump (N707, N706): in the Keras log a long calm descent ends in a sudden rise.

    ## How to fix
    A larger epsilon (1e-4 ... 1e-2) keeps the steps of tiny gradients tiny; so does a learning rate
    that decays near the end. nanfix measures larger epsilons and lower rates.

    ## Example
    ```python
    keras.optimizers.Adam(learning_rate=1e-3)  # before
    keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-3)  # after
    ```
    """
    thresholds = context.thresholds
    for run in runs_of(context):
        mid, end = run.signals.adam_mid, run.signals.adam
        if run.signals.late_jump is not None or not mid or not end or end.step <= mid.step:
            continue
        fresh = run.signals.fresh_loss or run.start_loss
        best = run.best_loss
        # toward zero: far below the level a late jump starts from
        if not fresh or best is None or best > thresholds.late_jump_converged ** 2 * fresh:
            continue
        beta_2 = context.optimizer_setting("beta_2")
        if not beta_2 or not 0 < beta_2 < 1 or end.median_sqrt_v <= 0 or mid.median_sqrt_v <= 0:
            continue
        steps = end.step - mid.step
        rate = (end.median_sqrt_v / mid.median_sqrt_v) ** (1.0 / steps)
        fastest = beta_2 ** 0.5
        if rate >= 1 or math.log(rate) > context.limits.decay_share * math.log(fastest):
            continue
        target = end.near_factor * end.epsilon
        left = max(0.0, math.log(target / end.median_sqrt_v) / math.log(rate))
        # only a failure the user's own training would reach (or ten probes, when its length
        # is unknown) is worth a warning
        horizon = context.fit_steps or 10 * run.steps_run
        if left > horizon:
            continue
        return context.finding(f"the loss fell to {best:.2e} (from {fresh:.3g}) and Adam's median sqrt(v_hat) fell "
            f"{mid.median_sqrt_v:.2e} -> {end.median_sqrt_v:.2e} in {steps} steps (x{rate:.4f} per step; "
            f"its fastest is sqrt(beta_2) = x{fastest:.4f}), seed {run.seed}: at this rate it is within "
            f"{end.near_factor:g}x of epsilon={end.epsilon:g} in about {left:,.0f} steps",
            where=context.origin("optimizer"), seed=run.seed, rate=rate, fastest=fastest,
            steps_to_epsilon=left, median_sqrt_v=end.median_sqrt_v, epsilon=end.epsilon)
    return None
