"""Probe rules on numerics: what the baseline's curves and monitors show about NaN/Inf,
explosions, growing weights and gradients, and Adam's second moment.

These read the per-seed results (outcome, first non-finite event, signals such as weight
growth and Adam's second moment) and turn them into findings with evidence; every
threshold they compare with comes from `context.thresholds`.
"""

from __future__ import annotations

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
      Severity.WARNING, stage=Stage.PROBE,
      explanation="""
Adam divides each step by sqrt(v) + epsilon, where v is a running mean of squared gradients.
When training has fitted the data, gradients become tiny and v shrinks toward epsilon**2 while
the first moment m can still jump: m / (sqrt(v) + eps) becomes huge and the loss suddenly
blows up after a long calm descent. The default epsilon (1e-7) is too small to damp this; raise
it (1e-4 ... 1e-2), or use a loss with bounded gradients such as log-cosh.""")
def adam_second_moment(context: Context):
    threshold = context.settings.thresholds.adam_v_collapsed_fraction
    hits = [(run.signals["adam"], run.seed) for run in runs_of(context) if "adam" in run.signals
            and run.signals["adam"]["fraction_near_epsilon"] >= threshold]
    if not hits:
        return None
    adam, seed = max(hits, key=lambda hit: hit[0]["fraction_near_epsilon"])
    return finding("N706", f"{adam['fraction_near_epsilon']:.0%} of parameters have sqrt(v_hat) within "
                   f"{adam['near_factor']:g}x of epsilon={adam['epsilon']:g} (seed {seed}, median sqrt(v_hat) "
                   f"{adam['median_sqrt_v']:.2e})", where=context.origin("optimizer"), **adam)


