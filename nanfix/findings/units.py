"""Probe rules on unit health: dead ReLU layers, saturated sigmoid/tanh layers, and
gradients that vanish on their way back to the first layers.

The trainer measures, per watched layer, the share of units that are dead or saturated and
the RMS gradient of each kernel; the thresholds that make them findings are
`dead_relu_fraction`, `saturation_fraction` and `vanishing_gradient_ratio`.
"""

from __future__ import annotations

from nanfix.findings.catalog import Context, finding, rule
from nanfix.findings.numerics import runs_of, worst_layer
from nanfix.records import Severity, Stage


@rule("U901", "dead-relu", "Most ReLU units are dead", Severity.WARNING, stage=Stage.PROBE,
      explanation="""
A ReLU unit that outputs 0 for every input gets no gradient and never recovers. When most units
of a layer are dead, that layer passes almost nothing on. One large step (unscaled inputs, a high
learning rate) can push the biases so negative that units die for good.""")
def dead_relu(context: Context):
    limit = context.thresholds.dead_relu_fraction
    worst = worst_layer(context, "dead_relu", lambda fraction: fraction >= limit)
    if worst is None:
        return None
    layer, fraction, seed = worst
    return finding("U901", f"{fraction:.0%} of the units of {layer} are dead (seed {seed})",
                   layer=layer, fraction=fraction, seed=seed)


@rule("U902", "saturated-units", "Sigmoid/tanh units are saturated", Severity.WARNING, stage=Stage.PROBE,
      explanation="""
Most outputs of a sigmoid or tanh layer sit at the flat ends of the curve (below 0.01 or above
0.99 for sigmoid, |y| > 0.99 for tanh), where the gradient is nearly zero, so the layers before it
stop learning. Inputs far from unit scale and large initial weights cause it.""")
def saturated_units(context: Context):
    limit = context.thresholds.saturation_fraction
    worst = worst_layer(context, "saturation", lambda fraction: fraction >= limit)
    if worst is None:
        return None
    layer, fraction, seed = worst
    return finding("U902", f"{fraction:.0%} of the outputs of {layer} are saturated (seed {seed})",
                   layer=layer, fraction=fraction, seed=seed)


@rule("U903", "vanishing-gradients", "Gradients vanish before the first layers", Severity.WARNING,
      stage=Stage.PROBE,
      explanation="""
The gradient that reaches the first layers is orders of magnitude smaller than the one at the
last layer, so the first layers barely move while the loss stalls. Each sigmoid or tanh layer
multiplies the gradient by at most 0.25 (1 for tanh) times its weights, so deep stacks of them
lose it on the way back; small initial weights and saturated units do the same.
Put BatchNormalization between the layers, use ReLU-family activations with He initialisation
(kernel_initializer="he_normal"), or make the network shallower.""")
def vanishing_gradients(context: Context):
    limit = context.thresholds.vanishing_gradient_ratio
    found = []
    for run in runs_of(context):
        layers = run.signals.get("grad_rms_by_layer") or []
        if len(layers) < context.thresholds.vanishing_min_layers:
            continue
        (first, first_rms), (last, last_rms) = layers[0], layers[-1]
        if last_rms > 0 and first_rms < limit * last_rms:
            found.append((first_rms / last_rms, run.seed, first, last))
    if len(found) * 2 <= len(runs_of(context)):
        return None  # a majority of the seeds, not one unlucky start
    ratio, seed, first, last = min(found)
    return finding("U903", f"the RMS gradient of {first} is {ratio:.1e} times that of {last} "
                           f"(seed {seed}): the first layers barely learn",
                   first_layer=first, last_layer=last, ratio=ratio,
                   seeds=[item[1] for item in found])
