"""Probe rules on numerics: what the baseline's curves and monitors show about NaN/Inf,
explosions, growing weights and gradients, and Adam's second moment.

These read the per-seed results (outcome, first non-finite event, signals such as weight
growth and Adam's second moment) and turn them into findings with evidence; every
threshold they compare with comes from `context.thresholds`.
"""

from __future__ import annotations

import math

from nanfix.findings.catalog import Context, finding, rule
from nanfix.records import Severity, Stage


def runs_of(context: Context):
    """The baseline's seed runs (none before the probe)."""
    return context.baseline.runs if context.baseline else []


def seeds_of(runs) -> str:
    return ", ".join(str(run.seed) for run in runs)


def worst_layer(context: Context, signal: str, counts) -> tuple[str, float, int] | None:
    """(layer, value, seed) of the largest per-layer `signal` over the seeds among the values
    for which `counts(value)` holds, or None."""
    worst = None
    for run in runs_of(context):
        for layer, value in run.signals.get(signal, {}).items():
            if counts(value) and (worst is None or value > worst[1]):
                worst = (layer, value, run.seed)
    return worst

@rule("N701", "nonfinite-training", "Training produces NaN/Inf", Severity.ERROR, stage=Stage.PROBE,
      explanation="""
A value in the training step stopped being a finite number: the loss, a gradient, a layer's
output or a weight became NaN or Inf. Once one weight is NaN every later prediction is NaN, and
Keras reports `loss: nan` with accuracy stuck at chance.

nanfix names the first step and the first place (forward layer output, loss, gradient or
updated weight) where it happened, and replays that step with TensorFlow's numerics checks to
name the op. The usual causes are a learning rate too large for the scale of the inputs and
weights, a log/division of 0 in the loss, unbounded activations, or huge initial weights.
Fix the cause the other findings point at; the ranked fixes below were measured on this model.""")
def nonfinite_training(context: Context):
    bad = [run for run in runs_of(context) if run.first_nonfinite is not None]
    if not bad:
        return None
    first = min((run.first_nonfinite for run in bad), key=lambda event: event.step)
    op = context.numerics.get("op")
    message = (f"non-finite {first.kind} in {len(bad)}/{len(runs_of(context))} seeds, first at step "
               f"{first.step}" + (f" in layer {first.layer}" if first.layer else "")
               + (f" (op {op}, {context.numerics.get('stage')})" if op else ""))
    return finding("N701", message, where=first.origin or context.origin("compile"),
                   seeds=[run.seed for run in bad], first_step=first.step, kind=first.kind,
                   layer=first.layer, op=op, stage=context.numerics.get("stage"))


@rule("N702", "silent-nonfinite-weights", "Weights turned NaN while the loss still prints a number",
      Severity.ERROR, stage=Stage.PROBE,
      explanation="""
Some weights became NaN or Inf while the loss stayed finite, so the training log looks calm.
This happens when the broken weights are not (yet) on the path to the loss: a moving statistic
of BatchNormalization, an embedding row not in the batch, a unit whose input is always zero.
They poison inference and the first batch that touches them. Look at the layer named in the
evidence; a lower learning rate or gradient clipping usually stops it.""")
def silent_nonfinite_weights(context: Context):
    silent = [run for run in runs_of(context)
              if run.first_nonfinite is not None and run.first_nonfinite.kind == "weight"]
    if not silent:
        return None
    event = silent[0].first_nonfinite
    return finding("N702", f"weights of layer {event.layer} became non-finite at step {event.step} "
                   f"while the loss was finite (seeds {seeds_of(silent)})", where=event.origin,
                   layer=event.layer, step=event.step)


@rule("N703", "loss-explosion", "Loss explodes", Severity.ERROR, stage=Stage.PROBE,
      explanation="""
The loss climbed far above where it started (by the explode factor, 100x by default). With
gradient descent this is the signature of steps too large for the curvature: the learning rate
is too high for the scale of the inputs, targets or weights, or an unbounded activation feeds
back on itself. If nothing stops it, it ends in Inf and then NaN.""")
def loss_explosion(context: Context):
    exploded = [run for run in runs_of(context) if run.signals.get("exploded_at") is not None]
    if not exploded:
        return None
    first = min(run.signals["exploded_at"] for run in exploded)
    return finding("N703", f"loss exploded in {len(exploded)}/{len(runs_of(context))} seeds, first at "
                   f"step {first}", where=context.origin("compile"), first_step=first,
                   seeds=[run.seed for run in exploded])


@rule("N704", "weight-growth", "Weights grow by orders of magnitude", Severity.WARNING,
      stage=Stage.PROBE,
      explanation="""
The norm of some layer's weights grew far beyond its initial value during a short probe. Healthy
training moves weights by a modest fraction; growth by orders of magnitude means every update
overshoots (learning rate too large, gradients amplified by unscaled inputs or a deep unbounded
stack) and precedes an overflow to Inf/NaN, as in the page where weights reached -2e4 by the
third epoch.""")
def weight_growth(context: Context):
    factor = context.thresholds.weight_growth_factor
    worst = worst_layer(context, "weight_growth", lambda growth: growth > factor)
    if worst is None:
        return None
    layer, growth, seed = worst
    return finding("N704", f"weights of layer {layer} grew {growth:.3g}x during the probe (seed {seed})",
                   layer=layer, growth=growth, seed=seed)


@rule("N705", "gradient-explosion", "Gradient norm explodes", Severity.WARNING, stage=Stage.PROBE,
      explanation="""
The global gradient norm rose far above its first value (1000x by default). Exploding gradients make
a fixed learning rate far too large at exactly the wrong moment. Gradient clipping (clipnorm or
global_clipnorm) bounds each step; a lower learning rate, scaled inputs and a better
initialisation remove the cause.""")
def gradient_explosion(context: Context):
    ratios = []
    for run in runs_of(context):
        first, peak = run.signals.get("grad_norm_first"), run.signals.get("grad_norm_max")
        if first and peak and first > 0:
            ratios.append((peak / first, run.seed))
    if not ratios:
        return None
    ratio, seed = max(ratios)
    if ratio < context.thresholds.gradient_explode_factor:
        return None
    return finding("N705", f"gradient norm rose {ratio:.3g}x above its first value (seed {seed})",
                   ratio=ratio, seed=seed)


@rule("N706", "adam-second-moment-collapse", "Adam's second moment is collapsing toward epsilon",
      Severity.WARNING, stage=Stage.PROBE, measures_cause=True,
      explanation="""
Adam divides each step by sqrt(v) + epsilon, where v is a running mean of squared gradients.
When training has fitted the data, gradients become tiny and v shrinks toward epsilon**2 while
the first moment m can still jump: m / (sqrt(v) + eps) stops shrinking with the gradients, the
weights keep moving by about a learning rate per step, and the loss suddenly blows up after a
long calm descent (seed003: it fell for 1500 epochs, then jumped and plateaued).

nanfix reports it in two ways. After a late jump (N707), when Adam's median sqrt(v_hat) before
the jump was within a small multiple of epsilon (100x by default), this is the measured cause
(an error), with the share of parameters near epsilon and the size of Adam's steps against the
weights. Without a jump, as a warning, when a quarter of the parameters already sit within 10x
of epsilon at the end of the probe. The default epsilon (1e-7; TF1's was 1e-8) is too small to
damp it: raise it (1e-4 ... 1e-2). A lower learning rate near the end, or a loss with bounded
gradients such as log-cosh, eases it.""")
def adam_second_moment(context: Context):
    jumped = _adam_before_jumps(context)
    if jumped:
        return jumped
    threshold = context.settings.thresholds.adam_v_collapsed_fraction
    hits = [(run.signals["adam"], run.seed) for run in runs_of(context) if "adam" in run.signals
            and run.signals["adam"]["fraction_near_epsilon"] >= threshold]
    if not hits:
        return None
    adam, seed = max(hits, key=lambda hit: hit[0]["fraction_near_epsilon"])
    return finding("N706", f"{adam['fraction_near_epsilon']:.0%} of parameters have sqrt(v_hat) within "
                   f"{adam['near_factor']:g}x of epsilon={adam['epsilon']:g} (seed {seed}, median sqrt(v_hat) "
                   f"{adam['median_sqrt_v']:.2e})", where=context.origin("optimizer"), **adam)


def _adam_before_jumps(context: Context):
    """N706 as the measured cause of a late jump: before it, sqrt(v_hat) had come within
    `adam_jump_epsilon_factor` of epsilon on the seeds that jumped."""
    factor = context.thresholds.adam_jump_epsilon_factor
    jumped = [run for run in runs_of(context) if run.signals.get("late_jump")]
    evidence = [(run.signals["late_jump"]["adam_before"], run) for run in jumped
                if run.signals["late_jump"].get("adam_before")]
    near = [(adam, run) for adam, run in evidence if adam["median_sqrt_v"] <= factor * adam["epsilon"]]
    if not near or len(near) * 2 < len(jumped):
        return None
    adam, run = min(near, key=lambda hit: hit[0]["median_sqrt_v"] / hit[0]["epsilon"])
    when = "at the recorded state" if run.signals["late_jump"].get("adam_step") == 0 and \
        run.signals.get("fresh_loss") is not None else f"at step {run.signals['late_jump']['adam_step']}"
    step = (f"; each step moved the weights by {adam['update_to_weight']:.2%} of their norm"
            if adam.get("update_to_weight") is not None else "")
    return finding(
        "N706",
        f"before the loss jumped ({len(near)}/{len(jumped)} seeds; seed {run.seed} {when}), Adam's median "
        f"sqrt(v_hat) was {adam['median_sqrt_v']:.2e}, {adam['median_sqrt_v'] / adam['epsilon']:.0f}x "
        f"epsilon={adam['epsilon']:g} ({adam['fraction_near_epsilon']:.0%} of parameters within "
        f"{adam['near_factor']:g}x): epsilon no longer damps steps of gradients this small{step}",
        where=context.origin("optimizer"), severity=Severity.ERROR, seeds=[r.seed for _, r in near],
        jump_step=run.signals["late_jump"]["step"], **adam)


@rule("N707", "late-loss-jump", "Loss jumps after it had converged", Severity.ERROR, stage=Stage.PROBE,
      explanation="""
The training loss fell to a hundredth of where a fresh model starts or less, then jumped back up
by three orders of magnitude or more (a few steps' mean, 1000x its best by default), with no
NaN. Keras shows a long calm descent and then a sudden rise that plateaus or repeats. Such a
failure can take hours to come; record it with NanGuard(record=DIR) and probe it from the
state before the jump with `nanfix probe train.py --from DIR`.

With Adam the usual cause is its second moment decaying toward epsilon once the data is fitted
(N706, raise epsilon). Otherwise the step is too large for the sharp minimum the training
reached: a lower learning rate, a decaying schedule, or clipping.""")
def late_loss_jump(context: Context):
    jumped = [run for run in runs_of(context) if run.signals.get("late_jump")]
    if not jumped:
        return None
    first = min(jumped, key=lambda run: run.signals["late_jump"]["step"])
    jump = first.signals["late_jump"]
    best = f"{jump['ratio']:.3g}x its best {jump['best']:.3g}" if jump["best"] > 0 else "up from a best of 0"
    return finding("N707", f"in {len(jumped)}/{len(runs_of(context))} seeds the loss jumped after "
                   f"converging; first at step {jump['step']} (seed {first.seed}): to {jump['loss']:.3g}, "
                   f"{best} (a fresh model's loss: {jump['first']:.3g})",
                   where=context.origin("fit") or context.origin("compile"),
                   seeds=[run.seed for run in jumped], step=jump["step"], loss=jump["loss"],
                   best=jump["best"], ratio=jump["ratio"], fresh_loss=jump["first"])


@rule("N708", "adam-heading-for-late-jump", "Adam is heading for a late jump", Severity.WARNING,
      stage=Stage.PROBE,
      explanation="""
The loss is converging toward zero and Adam's second moment v is decaying at nearly its fastest
rate (sqrt(beta_2) per step for sqrt(v)), the sign that the gradients have all but vanished.
Nothing has gone wrong yet, but at this rate sqrt(v_hat) comes within 10x of epsilon before the
script's own training ends (the finding says in how many steps); from then on m / (sqrt(v) + eps) no longer shrinks with the gradients
and the loss can jump (N707, N706), the way seed003's did after 1500 epochs. A larger epsilon
(1e-4 ... 1e-2) keeps the steps of tiny gradients tiny; so does a learning rate that decays
near the end.""")
def adam_heading_for_jump(context: Context):
    thresholds = context.thresholds
    for run in runs_of(context):
        mid, end = run.signals.get("adam_mid"), run.signals.get("adam")
        if run.signals.get("late_jump") or not mid or not end or end["step"] <= mid["step"]:
            continue
        fresh = run.signals.get("fresh_loss") or run.start_loss
        best = run.best_loss
        # toward zero: far below the level a late jump starts from
        if not fresh or best is None or best > thresholds.late_jump_converged ** 2 * fresh:
            continue
        beta_2 = context.optimizer_setting("beta_2")
        if not beta_2 or not 0 < beta_2 < 1 or end["median_sqrt_v"] <= 0 or mid["median_sqrt_v"] <= 0:
            continue
        steps = end["step"] - mid["step"]
        rate = (end["median_sqrt_v"] / mid["median_sqrt_v"]) ** (1.0 / steps)
        fastest = beta_2 ** 0.5
        if rate >= 1 or math.log(rate) > thresholds.adam_v_decay_share * math.log(fastest):
            continue
        target = end["near_factor"] * end["epsilon"]
        left = max(0.0, math.log(target / end["median_sqrt_v"]) / math.log(rate))
        # only a failure the user's own training would reach (or ten probes, when its length
        # is unknown) is worth a warning
        horizon = context.fit_steps or 10 * run.steps_run
        if left > horizon:
            continue
        return finding(
            "N708", f"the loss fell to {best:.2e} (from {fresh:.3g}) and Adam's median sqrt(v_hat) fell "
            f"{mid['median_sqrt_v']:.2e} -> {end['median_sqrt_v']:.2e} in {steps} steps (x{rate:.4f} per step; "
            f"its fastest is sqrt(beta_2) = x{fastest:.4f}), seed {run.seed}: at this rate it is within "
            f"{end['near_factor']:g}x of epsilon={end['epsilon']:g} in about {left:,.0f} steps",
            where=context.origin("optimizer"), seed=run.seed, rate=rate, fastest=fastest,
            steps_to_epsilon=left, median_sqrt_v=end["median_sqrt_v"], epsilon=end["epsilon"])
    return None
