"""Pre-flight rules on the model's structure: stacked layers with no activation between them,
initial weights far larger than Glorot/He, float16 without loss scaling.

Also the small helpers the label and pairing rules share: the output layer, its units and
rank, and the script line that created a layer.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nanfix.capture.task import layer_activation, output_layer
from nanfix.findings.catalog import Context, rule
from nanfix.records import Severity, Stage

# How many layer names an evidence list shows.
SHOWN_LAYERS = 5

LINEAR_ACTIVATIONS = {"linear", "none", "identity"}
# Layers that keep a linear map linear: two weight layers joined only by these still collapse.
PASS_THROUGH = {
    "InputLayer",
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "Flatten",
    "Reshape",
    "Permute",
    "RepeatVector",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "BatchNormalization",
    "Identity",
    "Rescaling",
}


# --- helpers shared with labels.py and pairing.py -------------------------------------------


def origin_of(layer: Any) -> str | None:
    """'train.py:34' when nanfix's capture recorded the line that created the layer."""
    return getattr(layer, "_nanfix_origin", None) if layer is not None else None


def output_shape(model: Any) -> tuple | None:
    try:
        return tuple(model.outputs[0].shape)
    except Exception:  # noqa: BLE001 - subclassed or unbuilt models have no symbolic outputs
        return None


def single_output(model: Any) -> bool:
    """Label and pairing rules read one output and one target array: judge only such models."""
    try:
        return len(model.outputs) <= 1
    except Exception:  # noqa: BLE001 - subclassed or unbuilt models: assume one output
        return True


def output_units(model: Any) -> int | None:
    shape = output_shape(model)
    if shape and shape[-1] is not None:
        return int(shape[-1])
    units = getattr(output_layer(model), "units", None)
    return int(units) if isinstance(units, int) else None


def output_rank(model: Any) -> int:
    shape = output_shape(model)
    return len(shape) if shape else 2


def is_weight_layer(layer: Any) -> bool:
    """Dense and convolution layers: an affine map, then the layer's own activation."""
    kind = type(layer).__name__
    return kind in ("Dense", "EinsumDense") or kind.startswith(
        ("Conv", "SeparableConv", "DepthwiseConv")
    )


def is_linear(layer: Any) -> bool:
    return layer_activation(layer) in LINEAR_ACTIVATIONS


def _passes_linearly(layer: Any) -> bool:
    kind = type(layer).__name__
    if kind == "Activation":
        return is_linear(layer)
    return kind in PASS_THROUGH


def _layers(model: Any) -> list:
    return [layer for layer in getattr(model, "layers", []) if type(layer).__name__ != "InputLayer"]


def _inputs_of(layer: Any, model: Any, index: int, layers: list) -> list | None:
    """The layers feeding `layer`, or None when the graph does not say (shared layers...)."""
    try:
        tensors = layer.input
        tensors = (
            list(tensors)
            if isinstance(tensors, (list, tuple))
            else (list(tensors.values()) if isinstance(tensors, dict) else [tensors])
        )
        return [tensor._keras_history.operation for tensor in tensors]
    except Exception:  # noqa: BLE001 - an unbuilt Sequential or a layer called twice
        if type(model).__name__ == "Sequential":
            return [layers[index - 1]] if index > 0 else []
        return None


def _linear_feeder(layer: Any, feeders: dict) -> Any:
    """The weight layer with no activation that feeds `layer` through linear layers only."""
    sources = feeders.get(id(layer))
    seen = 0
    while sources is not None and len(sources) == 1 and seen < 1000:
        source = sources[0]
        if is_weight_layer(source):
            return source if is_linear(source) else None
        if not _passes_linearly(source) or type(source).__name__ == "InputLayer":
            return None
        sources = feeders.get(id(source))
        seen += 1
    return None


def _linear_chains(model: Any) -> list[list]:
    """Runs of weight layers with no activation between consecutive ones, in model order."""
    layers = _layers(model)
    feeders = {
        id(layer): _inputs_of(layer, model, index, layers) for index, layer in enumerate(layers)
    }
    position = {id(layer): index for index, layer in enumerate(layers)}
    chain_of: dict[int, int] = {}  # layer id -> id of the first layer of its chain
    chains: dict[int, list] = {}
    # model.layers is in graph order, so a layer's feeder has always been seen before it.
    for layer in layers:
        if not is_weight_layer(layer) or id(layer) in chain_of:
            continue
        feeder = _linear_feeder(layer, feeders)
        if feeder is None or id(feeder) not in position:
            continue
        chain_id = chain_of.setdefault(id(feeder), id(feeder))
        chains.setdefault(chain_id, [feeder]).append(layer)
        chain_of[id(layer)] = chain_id
    return [sorted(chain, key=lambda layer: position[id(layer)]) for chain in chains.values()]


def _whole_network_linear(model: Any) -> bool:
    layers = _layers(model)
    weights = [layer for layer in layers if is_weight_layer(layer)]
    return len(weights) >= 2 and all(
        is_linear(layer) if is_weight_layer(layer) else _passes_linearly(layer) for layer in layers
    )


def _named(layer: Any) -> str:
    origin = origin_of(layer)
    return f"{layer.name} ({origin})" if origin else layer.name


# --- M401 -------------------------------------------------------------------------------------


@rule("M401", "stacked-linear-layers", "Layers stacked with no activation between them",
      Severity.WARNING, stage=Stage.PREFLIGHT)
def stacked_linear_layers(context: Context):
    """
    ## What it means
    Two or more Dense (or convolution) layers follow each other with no activation between them,
    directly or through layers that keep the map linear (Dropout, Flatten, Reshape,
    BatchNormalization, average pooling). When the whole network is linear the finding is an error.

    ## Why it matters
    A layer without an activation is an affine map, and affine maps compose into one affine map:
    W2 (W1 x + b1) + b2 = W x + b. The extra layer adds parameters and makes the optimisation worse
    conditioned (larger, correlated steps) without adding any capacity. When the whole network is
    linear it can only fit a linear function of the inputs, whatever its size.

    ## How to fix
    Give the hidden layers a non-linearity: Dense(n, activation="relu") (or "sigmoid"/"tanh" for
    small networks), keeping only the output layer's own activation (softmax/sigmoid/linear). nanfix
    measures adding the missing activations.

    ## Example
    ```python
    keras.layers.Dense(64),  # before: no activation
    keras.layers.Dense(64, activation="relu"),  # after
    keras.layers.Dense(10, activation="softmax"),  # the output layer keeps its own
    ```
    """
    whole = _whole_network_linear(context.model)
    found = []
    for chain in _linear_chains(context.model):
        missing = chain[:-1]  # the last layer's own activation comes after the collapse
        path = " -> ".join(_named(layer) for layer in chain)
        if whole:
            message = (
                f"the whole network is linear: {path} compute one linear map; give the hidden "
                "layers an activation (e.g. relu)"
            )
        else:
            message = (
                f"{path} have no activation between them and collapse into one linear map; "
                f"give {', '.join(layer.name for layer in missing)} an activation (e.g. relu)"
            )
        found.append(
            context.finding(
                message,
                where=origin_of(missing[0]),
                severity=Severity.ERROR if whole else None,
                layers=[layer.name for layer in chain],
                origins=[origin_of(layer) for layer in chain],
                without_activation=[layer.name for layer in missing],
                whole_network_linear=whole,
            )
        )
    return found or None


# --- M402 -------------------------------------------------------------------------------------


def compute_fans(shape: tuple) -> tuple[int, int]:
    """Keras' fan_in/fan_out: (in, out) for Dense, receptive field x channels for convolutions."""
    shape = tuple(int(dim) for dim in shape)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def initializer_config(layer: Any, key: str) -> dict | None:
    try:
        config = layer.get_config().get(key)
    except Exception:  # noqa: BLE001 - a custom layer's get_config can be anything
        return None
    if isinstance(config, str):
        return {"class_name": config, "config": {}}
    return config if isinstance(config, dict) else None


def initial_scale(config: dict | None, fan_in: int, fan_out: int) -> float | None:
    """The root-mean-square magnitude an initialiser draws, from its config; None if unknown."""
    if config is None:
        return None
    name = str(config.get("class_name", "")).lower().replace("_", "")
    options = config.get("config") or {}
    mean = float(options.get("mean", 0.0) or 0.0)
    if name in ("zeros", "zero"):
        return 0.0
    if name in ("ones", "one"):
        return 1.0
    if name == "constant":
        return abs(float(options.get("value", 0.0)))
    if name in ("randomnormal", "normal"):
        return math.hypot(mean, float(options.get("stddev", 0.05)))
    if name == "truncatednormal":
        return math.hypot(mean, 0.88 * float(options.get("stddev", 0.05)))
    if name in ("randomuniform", "uniform"):
        low, high = float(options.get("minval", -0.05)), float(options.get("maxval", 0.05))
        return math.hypot((low + high) / 2, (high - low) / math.sqrt(12))
    if name == "variancescaling":
        mode = options.get("mode", "fan_in")
        fan = {"fan_in": fan_in, "fan_out": fan_out}.get(mode, (fan_in + fan_out) / 2)
        return math.sqrt(float(options.get("scale", 1.0)) / max(1.0, fan))
    if name.startswith("glorot"):
        return math.sqrt(2.0 / max(1, fan_in + fan_out))
    if name.startswith("he"):
        return math.sqrt(2.0 / max(1, fan_in))
    if name.startswith("lecun"):
        return math.sqrt(1.0 / max(1, fan_in))
    if name == "orthogonal":
        return float(options.get("gain", 1.0)) / math.sqrt(max(1, fan_in, fan_out))
    return None


def _measured_scale(variable: Any) -> float | None:
    try:
        values = np.asarray(
            variable.numpy() if hasattr(variable, "numpy") else variable, dtype=np.float64
        )
    except Exception:  # noqa: BLE001 - a variable we cannot read is simply not judged
        return None
    return float(np.sqrt(np.mean(values**2))) if values.size else None


def _describe_initializer(config: dict | None) -> str:
    if config is None:
        return "a custom initializer"
    options = {
        key: value
        for key, value in (config.get("config") or {}).items()
        if key not in ("seed", "input_axes", "output_axes") and value is not None
    }
    arguments = ", ".join(
        f"{key}={value:g}" if isinstance(value, (int, float)) else f"{key}={value!r}"
        for key, value in options.items()
    )
    return f"{config.get('class_name')}({arguments})"


@rule("M402", "large-initializer", "Initial weights far larger than Glorot/He", Severity.WARNING,
      stage=Stage.PREFLIGHT,
      # a kernel drawn at this many times the Glorot/He scale is large; a bias drawn at this scale
      # or more is large (biases usually start at 0)
      limits={"kernel_factor": 5.0, "bias_scale": 1.0})
def large_initializer(context: Context):
    """
    ## What it means
    A Dense or convolution layer starts with weights far larger than the Glorot/He scale, about
    sqrt(2 / fan_in) for its number of inputs: more than 5 times that scale by default, or biases of
    scale 1 or more (biases usually start at 0).

    ## Why it matters
    With N(0, 1) weights on a 784-input layer each pre-activation has a standard deviation near
    sqrt(784) = 28 instead of about 1: sigmoid/tanh units saturate, softmax outputs hit exactly 0 and
    1 (log(0) in the loss), and the first gradients are huge, so training explodes to NaN or stalls
    from the first epoch.

    ## How to fix
    Keep Keras' defaults (glorot_uniform kernels, zero biases), or use he_normal before relu. nanfix
    measures those initialisers, and BatchNormalization between the layers.

    ## Example
    ```python
    init = keras.initializers.RandomNormal(mean=0.0, stddev=1.0)  # before
    keras.layers.Dense(128, activation="relu", kernel_initializer=init)  # before
    keras.layers.Dense(128, activation="relu", kernel_initializer="he_normal")  # after
    ```
    """
    found = []
    for layer in _layers(context.model):
        kernel = getattr(layer, "kernel", None) if is_weight_layer(layer) else None
        if kernel is None:
            continue
        fan_in, fan_out = compute_fans(kernel.shape)
        glorot, he = math.sqrt(2.0 / max(1, fan_in + fan_out)), math.sqrt(2.0 / max(1, fan_in))
        problems, evidence = [], {}
        kernel_config = initializer_config(layer, "kernel_initializer")
        scale = initial_scale(kernel_config, fan_in, fan_out)
        if scale is None:
            scale = _measured_scale(kernel)
        ratio = scale / max(glorot, he) if scale is not None else 0.0
        if ratio > context.limits.kernel_factor:
            problems.append(
                f"kernel {_describe_initializer(kernel_config)} draws weights of scale "
                f"{scale:.3g}, {ratio:.0f}x the Glorot/He scale ({glorot:.3g}/{he:.3g} for "
                f"fan_in={fan_in}, fan_out={fan_out})"
            )
            evidence.update(
                kernel_initializer=_describe_initializer(kernel_config),
                kernel_scale=scale,
                glorot_std=glorot,
                he_std=he,
                ratio=ratio,
            )
        bias = getattr(layer, "bias", None)
        if bias is not None:
            bias_config = initializer_config(layer, "bias_initializer")
            bias_scale = initial_scale(bias_config, fan_in, fan_out)
            if bias_scale is None:
                bias_scale = _measured_scale(bias)
            if bias_scale is not None and bias_scale >= context.limits.bias_scale:
                problems.append(
                    f"bias {_describe_initializer(bias_config)} draws biases of scale "
                    f"{bias_scale:.3g} (biases usually start at 0)"
                )
                evidence.update(
                    bias_initializer=_describe_initializer(bias_config), bias_scale=bias_scale
                )
        if problems:
            found.append(
                context.finding(
                    f"{_named(layer)}: " + "; ".join(problems),
                    where=origin_of(layer),
                    layer=layer.name,
                    fan_in=fan_in,
                    fan_out=fan_out,
                    **evidence,
                )
            )
    return found or None


# --- M403 -------------------------------------------------------------------------------------

HALF_POLICIES = {"float16", "mixed_float16"}


def _policy_name(thing: Any) -> str | None:
    policy = getattr(thing, "dtype_policy", None)
    return getattr(policy, "name", None)


@rule("M403", "float16-without-loss-scaling", "float16 training without loss scaling",
      Severity.WARNING, stage=Stage.PREFLIGHT)
def float16_without_loss_scaling(context: Context):
    """
    ## What it means
    The model (or some of its layers) computes in float16 ("float16" or "mixed_float16" policy) but
    the optimizer is not a LossScaleOptimizer.

    ## Why it matters
    float16 holds numbers only from about 6e-8 to 65504: small gradients underflow to 0 (nothing is
    learned) and large activations or losses overflow to Inf, then NaN. Loss scaling multiplies the
    loss before the backward pass and divides the gradients after it, skipping steps that overflow.
    Keras wraps the optimizer itself when the model's policy is "mixed_float16", unless compile() was
    given auto_scale_loss=False; with the pure "float16" policy it never does.

    ## How to fix
    Use "mixed_float16" (float32 weights), or wrap the optimizer:
    keras.optimizers.LossScaleOptimizer(optimizer). nanfix measures training in float32 and the
    wrapped optimizer.

    ## Example
    ```python
    keras.config.set_dtype_policy("float16")  # before
    keras.config.set_dtype_policy("mixed_float16")  # after: Keras scales the loss itself
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam())  # after, or wrap it
    ```
    """
    optimizer = context.optimizer
    if optimizer is None or type(optimizer).__name__ == "LossScaleOptimizer":
        return None
    model_policy = _policy_name(context.model)
    half = [
        (layer.name, _policy_name(layer))
        for layer in _layers(context.model)
        if _policy_name(layer) in HALF_POLICIES
    ]
    if model_policy not in HALF_POLICIES and not half:
        return None
    policy = model_policy if model_policy in HALF_POLICIES else half[0][1]
    half_layers = [name for name, _ in half]
    return context.finding(
        f"the model computes in {policy} ({len(half_layers)} layers) but the "
        f"optimizer {type(optimizer).__name__} does not scale the loss: wrap it in "
        "keras.optimizers.LossScaleOptimizer",
        where=context.origin("optimizer") or context.origin("compile"),
        policy=policy,
        layers=half_layers[:SHOWN_LAYERS],
        optimizer=type(optimizer).__name__,
    )


REGULARIZER_KEYS = ("kernel_regularizer", "bias_regularizer", "activity_regularizer")


def regularization_factors(layer: Any) -> dict[str, float]:
    """{"kernel_regularizer": 10.0, ...}: the largest l1/l2 factor of each regularizer."""
    out = {}
    for key in REGULARIZER_KEYS:
        regularizer = getattr(layer, key, None)
        factors = [getattr(regularizer, name, None) for name in ("l1", "l2")]
        factors = [float(f) for f in factors if hasattr(f, "__float__")]
        if regularizer is not None and factors and max(factors) > 0:
            out[key] = max(factors)
    return out


@rule("M404", "dominant-regularization", "Regularisation that outweighs the data", Severity.WARNING,
      stage=Stage.PREFLIGHT,
      limits={"factor": 0.1})  # an l1/l2 factor of this much or more outweighs the data
def dominant_regularization(context: Context):
    """
    ## What it means
    A layer's l1/l2 penalty factor (kernel, bias or activity regularizer) is 0.1 or more by default;
    the usual values are 1e-5 .. 1e-3.

    ## Why it matters
    The penalty, summed over every weight, outweighs the data term of the loss: the fastest way to
    lower the total loss is to shrink every weight to zero, so the model ends up predicting a
    constant and the loss stalls at the penalty's floor. Keras adds the penalty to the loss it
    prints, so the log shows a loss that stops falling early, with accuracy near chance.

    ## How to fix
    Use a factor of 1e-4 (keras.regularizers.L2(1e-4)) or remove the regularizer; raise it slowly only
    if the model overfits. nanfix measures the factor 1e-4.

    ## Example
    ```python
    keras.layers.Dense(64, activation="relu", kernel_regularizer=keras.regularizers.L2(1.0))  # before
    keras.layers.Dense(64, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-4))  # after
    ```
    """
    limit = context.limits.factor
    heavy = []
    for layer in _layers(context.model):
        for key, factor in regularization_factors(layer).items():
            if factor >= limit:
                heavy.append((factor, layer, key))
    if not heavy:
        return None
    factor, layer, key = max(heavy, key=lambda item: item[0])
    return context.finding(f"{_named(layer)} has {key} with factor {factor:g} "
                           f"({len(heavy)} regularizer(s) at {limit:g} or more): the penalty "
                           "outweighs the data",
                           where=origin_of(layer), layer=layer.name, factor=factor,
                           layers=sorted({item[1].name for item in heavy}),
                           regularizers=[{"layer": item[1].name, "key": item[2], "factor": item[0]}
                                         for item in heavy])
