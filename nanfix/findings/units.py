"""Probe rules on unit health: dead ReLU layers and saturated sigmoid/tanh layers.

The trainer measures, per watched layer, the share of units that are dead or saturated; the
thresholds that make it a finding are `dead_relu_fraction` and `saturation_fraction`.
"""

from __future__ import annotations

from nanfix.findings.catalog import Context, finding, rule
from nanfix.findings.numerics import worst_layer
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
