"""Probe rules on unit health: dead ReLU layers, saturated sigmoid/tanh layers, and
gradients that vanish on their way back to the first layers.

The trainer measures, per watched layer, the share of units that are dead or saturated and
the RMS gradient of each kernel; the limits that make them findings are each rule's own.
"""

from __future__ import annotations

from nanfix.findings.catalog import Context, rule
from nanfix.findings.numerics import runs_of, worst_layer
from nanfix.records import Severity, Stage


@rule("U901", "dead-relu", "Most ReLU units are dead", Severity.WARNING, stage=Stage.PROBE,
      limits={"share": 0.5})  # a layer with this share of dead units (zero for a whole batch)
def dead_relu(context: Context):
    """
    ## What it means
    Half or more of the units of a ReLU-family layer are dead (by default): over the last fifth of
    the probe they output 0 (or less) for every sample of a batch.

    ## Why it matters
    A ReLU unit that outputs 0 for every input gets no gradient and never recovers. When most units
    of a layer are dead, that layer passes almost nothing on and the loss stalls, often with one
    class predicted for everything (S802). One large step (unscaled inputs, a high learning rate) can
    push the biases so negative that units die for good.

    ## How to fix
    Scale the inputs and lower the learning rate; he_normal initial weights and BatchNormalization
    keep more units alive. nanfix measures each of these.

    ## Example
    ```python
    keras.optimizers.SGD(learning_rate=0.5)  # before, on raw 0..255 inputs
    x_train = x_train / 255.0  # after
    keras.optimizers.SGD(learning_rate=0.01)  # after
    ```
    """
    limit = context.limits.share
    worst = worst_layer(context, lambda signals: signals.dead_relu, lambda fraction: fraction >= limit)
    if worst is None:
        return None
    layer, fraction, seed = worst
    return context.finding(f"{fraction:.0%} of the units of {layer} are dead (seed {seed})",
                   layer=layer, fraction=fraction, seed=seed)


@rule("U902", "saturated-units", "Sigmoid/tanh units are saturated", Severity.WARNING,
      stage=Stage.PROBE,
      limits={"share": 0.5})  # a layer with this share of saturated outputs
def saturated_units(context: Context):
    """
    ## What it means
    Half or more of the outputs of a hidden sigmoid or tanh layer (or hard_sigmoid, softsign; by
    default) sit at the flat ends of the curve over the last fifth of the probe: below 0.01 or above
    0.99 for sigmoid, |y| > 0.99 for tanh.

    ## Why it matters
    There the gradient is nearly zero, so the layers before it stop learning and the loss stalls,
    often at chance. Inputs far from unit scale and large initial weights cause it.

    ## How to fix
    Scale the inputs and keep Keras' default initial weights (glorot_uniform); BatchNormalization
    before the activation, or relu in deep stacks, also helps. nanfix measures these and lower
    learning rates.

    ## Example
    ```python
    keras.layers.Dense(64, activation="sigmoid")  # before, on raw 0..255 inputs
    x_train = x_train / 255.0  # after
    ```
    """
    limit = context.limits.share
    worst = worst_layer(context, lambda signals: signals.saturation, lambda fraction: fraction >= limit)
    if worst is None:
        return None
    layer, fraction, seed = worst
    return context.finding(f"{fraction:.0%} of the outputs of {layer} are saturated (seed {seed})",
                   layer=layer, fraction=fraction, seed=seed)


@rule("U903", "vanishing-gradients", "Gradients vanish before the first layers", Severity.WARNING,
      stage=Stage.PROBE,
      # gradients vanish when the first weighted layer's median RMS gradient is below `ratio` of
      # the last one's (a deep sigmoid stack loses ~4x per layer), in networks of `min_layers`+
      limits={"ratio": 1e-3, "min_layers": 4})
def vanishing_gradients(context: Context):
    """
    ## What it means
    On most seeds the gradient that reaches the first layers is orders of magnitude smaller than the
    one at the last layer: the first weighted layer's median RMS gradient is below 1e-3 of the last
    one's by default, in a network of 4 weighted layers or more.

    ## Why it matters
    The first layers barely move while the loss stalls. Each sigmoid or tanh layer multiplies the
    gradient by at most 0.25 (1 for tanh) times its weights, so deep stacks of them lose it on the
    way back; small initial weights and saturated units do the same. The Keras log shows a loss that
    falls very slowly or not at all.

    ## How to fix
    Put BatchNormalization between the layers, use ReLU-family activations with He initialisation
    (kernel_initializer="he_normal"), or make the network shallower.

    ## Example
    ```python
    keras.layers.Dense(64, activation="sigmoid")  # before: one of eight stacked layers
    keras.layers.Dense(64, activation="relu", kernel_initializer="he_normal")  # after
    ```
    """
    limit = context.limits.ratio
    found = []
    for run in runs_of(context):
        layers = run.signals.grad_rms_by_layer
        if len(layers) < context.limits.min_layers:
            continue
        (first, first_rms), (last, last_rms) = layers[0], layers[-1]
        if last_rms > 0 and first_rms < limit * last_rms:
            found.append((first_rms / last_rms, run.seed, first, last))
    if len(found) * 2 <= len(runs_of(context)):
        return None  # a majority of the seeds, not one unlucky start
    ratio, seed, first, last = min(found)
    return context.finding(f"the RMS gradient of {first} is {ratio:.1e} times that of {last} "
                           f"(seed {seed}): the first layers barely learn",
                   first_layer=first, last_layer=last, ratio=ratio,
                   seeds=[item[1] for item in found])
