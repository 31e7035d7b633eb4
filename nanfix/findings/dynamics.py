"""Probe rules: what the baseline probe's curves and monitors show.

These read the per-seed results (outcome, first non-finite event, signals such as weight
growth, dead units, Adam's second moment) and turn them into findings with evidence.
"""

from __future__ import annotations

from nanfix.findings.base import Context, finding, rule
from nanfix.results import Outcome, Severity


def _runs(context: Context):
    return context.baseline.runs if context.baseline else []


def _seeds(runs) -> str:
    return ", ".join(str(run.seed) for run in runs)


@rule("N701", "nonfinite-training", "Training produces NaN/Inf", Severity.ERROR, stage="probe",
      fixes=("lr", "clipping", "init", "activation", "pairing", "stable_loss", "input_scaling", "epsilon"),
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
    bad = [run for run in _runs(context) if run.first_nonfinite is not None]
    if not bad:
        return None
    first = min((run.first_nonfinite for run in bad), key=lambda event: event.step)
    op = context.numerics.get("op")
    message = (f"non-finite {first.kind} in {len(bad)}/{len(_runs(context))} seeds, first at step "
               f"{first.step}" + (f" in layer {first.layer}" if first.layer else "")
               + (f" (op {op}, {context.numerics.get('stage')})" if op else ""))
    return finding("N701", message, where=first.origin or context.origin("compile"),
                   seeds=[run.seed for run in bad], first_step=first.step, kind=first.kind,
                   layer=first.layer, op=op, stage=context.numerics.get("stage"))


@rule("N702", "silent-nonfinite-weights", "Weights turned NaN while the loss still prints a number",
      Severity.ERROR, stage="probe", fixes=("lr", "clipping", "epsilon"),
      explanation="""
Some weights became NaN or Inf while the loss stayed finite, so the training log looks calm.
This happens when the broken weights are not (yet) on the path to the loss: a moving statistic
of BatchNormalization, an embedding row not in the batch, a unit whose input is always zero.
They poison inference and the first batch that touches them. Look at the layer named in the
evidence; a lower learning rate or gradient clipping usually stops it.""")
def silent_nonfinite_weights(context: Context):
    silent = [run for run in _runs(context)
              if run.first_nonfinite is not None and run.first_nonfinite.kind == "weight"]
    if not silent:
        return None
    event = silent[0].first_nonfinite
    return finding("N702", f"weights of layer {event.layer} became non-finite at step {event.step} "
                   f"while the loss was finite (seeds {_seeds(silent)})", where=event.origin,
                   layer=event.layer, step=event.step)


@rule("N703", "loss-explosion", "Loss explodes", Severity.ERROR, stage="probe",
      fixes=("lr", "clipping", "input_scaling", "init", "activation", "target_scaling"),
      explanation="""
The loss climbed far above where it started (by the explode factor, 100x by default). With
gradient descent this is the signature of steps too large for the curvature: the learning rate
is too high for the scale of the inputs, targets or weights, or an unbounded activation feeds
back on itself. If nothing stops it, it ends in Inf and then NaN.""")
def loss_explosion(context: Context):
    exploded = [run for run in _runs(context) if run.signals.get("exploded_at") is not None]
    if not exploded:
        return None
    first = min(run.signals["exploded_at"] for run in exploded)
    return finding("N703", f"loss exploded in {len(exploded)}/{len(_runs(context))} seeds, first at "
                   f"step {first}", where=context.origin("compile"), first_step=first,
                   seeds=[run.seed for run in exploded])


@rule("N704", "weight-growth", "Weights grow by orders of magnitude", Severity.WARNING,
      stage="probe", fixes=("lr", "clipping", "init"),
      explanation="""
The norm of some layer's weights grew far beyond its initial value during a short probe. Healthy
training moves weights by a modest fraction; growth by orders of magnitude means every update
overshoots (learning rate too large, gradients amplified by unscaled inputs or a deep unbounded
stack) and precedes an overflow to Inf/NaN, as in the page where weights reached -2e4 by the
third epoch.""")
def weight_growth(context: Context):
    factor = context.settings.thresholds.weight_growth_factor
    worst = None
    for run in _runs(context):
        for layer, growth in run.signals.get("weight_growth", {}).items():
            if growth > factor and (worst is None or growth > worst[2]):
                worst = (run.seed, layer, growth)
    if worst is None:
        return None
    seed, layer, growth = worst
    return finding("N704", f"weights of layer {layer} grew {growth:.3g}x during the probe (seed {seed})",
                   layer=layer, growth=growth, seed=seed)


@rule("N705", "gradient-explosion", "Gradient norm explodes", Severity.WARNING, stage="probe",
      fixes=("clipping", "lr", "init", "input_scaling"),
      explanation="""
The global gradient norm rose by more than 1000x over its first value. Exploding gradients make
a fixed learning rate far too large at exactly the wrong moment. Gradient clipping (clipnorm or
global_clipnorm) bounds each step; a lower learning rate, scaled inputs and a better
initialisation remove the cause.""")
def gradient_explosion(context: Context):
    ratios = []
    for run in _runs(context):
        first, peak = run.signals.get("grad_norm_first"), run.signals.get("grad_norm_max")
        if first and peak and first > 0:
            ratios.append((peak / first, run.seed))
    if not ratios:
        return None
    ratio, seed = max(ratios)
    if ratio < 1e3:
        return None
    return finding("N705", f"gradient norm rose {ratio:.3g}x above its first value (seed {seed})",
                   ratio=ratio, seed=seed)


@rule("N706", "adam-second-moment-collapse", "Adam's second moment is collapsing toward epsilon",
      Severity.WARNING, stage="probe", fixes=("epsilon", "lr", "stable_loss"),
      explanation="""
Adam divides each step by sqrt(v) + epsilon, where v is a running mean of squared gradients.
When training has fitted the data, gradients become tiny and v shrinks toward epsilon**2 while
the first moment m can still jump: m / (sqrt(v) + eps) becomes huge and the loss suddenly
blows up after a long calm descent. The default epsilon (1e-7) is too small to damp this; raise
it (1e-4 ... 1e-2), or use a loss with bounded gradients such as log-cosh.""")
def adam_second_moment(context: Context):
    threshold = context.settings.thresholds.adam_v_collapsed_fraction
    hits = [(run.signals["adam"], run.seed) for run in _runs(context) if "adam" in run.signals
            and run.signals["adam"]["fraction_near_epsilon"] >= threshold]
    if not hits:
        return None
    adam, seed = max(hits, key=lambda hit: hit[0]["fraction_near_epsilon"])
    return finding("N706", f"{adam['fraction_near_epsilon']:.0%} of parameters have sqrt(v_hat) within "
                   f"10x of epsilon={adam['epsilon']:g} (seed {seed}, median sqrt(v_hat) "
                   f"{adam['median_sqrt_v']:.2e})", where=context.origin("optimizer"), **adam)


def _stalled(context: Context):
    return [run for run in _runs(context) if run.outcome is Outcome.STALLED]


@rule("S801", "stall-at-chance", "Loss flat at chance level", Severity.ERROR, stage="probe",
      fixes=("pairing", "input_scaling", "lr", "activation", "init"),
      explanation="""
The loss sits at the value of a uniform guess (ln(classes) for cross-entropy, e.g. 2.3026 for
10 classes) and accuracy near 1/classes: the network outputs the same distribution for every
input. Common causes: an output activation that does not match the loss (sigmoid under
categorical cross-entropy), saturated or dead units after a too-large step on unscaled inputs,
or a learning rate so small nothing moves.""")
def stall_at_chance(context: Context):
    runs = [run for run in _stalled(context) if "chance level" in run.reason]
    if not runs:
        return None
    return finding("S801", f"{runs[0].reason} in {len(runs)}/{len(_runs(context))} seeds",
                   seeds=[run.seed for run in runs], final_loss=runs[0].final_loss,
                   accuracy=runs[0].val_accuracy)


@rule("S802", "constant-predictions", "The model predicts one class for everything", Severity.ERROR,
      stage="probe", fixes=("pairing", "input_scaling", "lr", "activation", "init"),
      explanation="""
After the probe the model gives the same prediction for (nearly) every input, whatever the loss
prints. This is how dead ReLU layers, saturated outputs and mismatched output/loss pairs look from
outside: accuracy equals the share of the majority class.""")
def constant_predictions(context: Context):
    runs = [run for run in _stalled(context) if "same class" in run.reason]
    if not runs:
        return None
    return finding("S802", f"{runs[0].reason} in {len(runs)}/{len(_runs(context))} seeds",
                   seeds=[run.seed for run in runs], accuracy=runs[0].val_accuracy)


@rule("S803", "not-learning", "Loss does not fall", Severity.WARNING, stage="probe",
      fixes=("lr", "pairing", "input_scaling", "optimizer", "activation"),
      explanation="""
Within the probe budget the evaluation loss did not fall clearly below its start, or accuracy
did not rise clearly above chance, although every value stayed finite. Either the learning rate
is too small for the budget, or something (a clipped log in the loss, a saturated output, a
wrong label format) cuts the gradient signal. A change that only hides a NaN often lands here.""")
def not_learning(context: Context):
    runs = [run for run in _stalled(context)
            if "chance level" not in run.reason and "same class" not in run.reason]
    if not runs:
        return None
    return finding("S803", f"{runs[0].reason} in {len(runs)}/{len(_runs(context))} seeds",
                   seeds=[run.seed for run in runs], start_loss=runs[0].start_loss,
                   final_loss=runs[0].final_loss, accuracy=runs[0].val_accuracy)


@rule("U901", "dead-relu", "Most ReLU units are dead", Severity.WARNING, stage="probe",
      fixes=("lr", "input_scaling", "init", "activation"),
      explanation="""
A ReLU unit that outputs 0 for every input gets no gradient and never recovers. When most units
of a layer are dead, that layer passes almost nothing on. One large step (unscaled inputs, a high
learning rate) can push the biases so negative that units die for good.""")
def dead_relu(context: Context):
    limit = context.settings.thresholds.dead_relu_fraction
    worst = None
    for run in _runs(context):
        for layer, fraction in run.signals.get("dead_relu", {}).items():
            if fraction >= limit and (worst is None or fraction > worst[1]):
                worst = (layer, fraction, run.seed)
    if worst is None:
        return None
    layer, fraction, seed = worst
    return finding("U901", f"{fraction:.0%} of the units of {layer} are dead (seed {seed})",
                   layer=layer, fraction=fraction, seed=seed)


@rule("U902", "saturated-units", "Sigmoid/tanh units are saturated", Severity.WARNING, stage="probe",
      fixes=("input_scaling", "init", "activation", "lr"),
      explanation="""
Most outputs of a sigmoid or tanh layer sit at the flat ends of the curve (below 0.01 or above
0.99 for sigmoid, |y| > 0.99 for tanh), where the gradient is nearly zero, so the layers before it
stop learning. Inputs far from unit scale and large initial weights cause it.""")
def saturated_units(context: Context):
    limit = context.settings.thresholds.saturation_fraction
    worst = None
    for run in _runs(context):
        for layer, fraction in run.signals.get("saturation", {}).items():
            if fraction >= limit and (worst is None or fraction > worst[1]):
                worst = (layer, fraction, run.seed)
    if worst is None:
        return None
    layer, fraction, seed = worst
    return finding("U902", f"{fraction:.0%} of the outputs of {layer} are saturated (seed {seed})",
                   layer=layer, fraction=fraction, seed=seed)
