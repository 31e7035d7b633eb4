"""The probe's training engine: one compiled, instrumented train step for one configuration.

A `Trainer` owns a model, a fresh optimizer and the captured loss. It compiles one
`tf.function` (with `jit_compile=False`: under XLA TensorFlow's numerics checks are skipped)
that performs a normal training step and, in the same graph, measures what the monitors need:
loss, accuracy, per-variable gradient and weight magnitudes, and per-layer activation
statistics. Everything comes back as one float vector, so a step costs one host transfer.

Seeds do not retrace: `reset(seed)` redraws every weight from the model's own initializers
and restores the optimizer's freshly built state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from nanfix.capture.task import (  # noqa: E402
    Activation,
    LabelFormat,
    Task,
    TaskKind,
    constant_guess_loss,
    layer_activation,
)
from nanfix.capture.training_data import TrainingData, first_array, map_nest  # noqa: E402
from nanfix.probes import resume  # noqa: E402
from nanfix.probes.setup import custom_train_step  # noqa: E402
from nanfix.records import AdamState, Evaluation, finite_or_none  # noqa: E402


@dataclass
class Layout:
    """Where each statistic sits in the step's output vector."""

    variables: list[str]  # variable paths, in model.trainable_variables order
    variable_layers: list[str]  # the layer each trainable variable belongs to
    activation_layers: list[str]  # layers whose outputs we watch, in forward order
    dead_layers: list[str]  # ReLU-family layers (dead-unit fraction)
    saturating_layers: list[str]  # sigmoid/tanh layers (saturation fraction)
    state_layers: list[str]  # the layer of each non-trainable float variable (e.g. BN statistics)

    def slices(self) -> dict[str, slice]:
        sizes = [
            # loss, accuracy, squared global gradient norm, and the cosine between the update
            # the step applied and the compiled loss's gradient (1 for Keras' own step)
            ("scalars", 4),
            ("grad_max", len(self.variables)),
            ("weight_max", len(self.variables)),
            ("weight_norm", len(self.variables)),
            ("grad_rms", len(self.variables)),
            ("act_nonfinite", len(self.activation_layers)),
            ("act_max", len(self.activation_layers)),
            ("dead", len(self.dead_layers)),
            ("saturated", len(self.saturating_layers)),
            ("state_max", len(self.state_layers)),
        ]
        out, start = {}, 0
        for name, size in sizes:
            out[name] = slice(start, start + size)
            start += size
        return out


def _variable_layer(model: Any, trainable: bool) -> dict[int, str]:
    owner = {}
    for layer in _flat_layers(model):
        for variable in (layer.trainable_variables if trainable else layer.non_trainable_variables):
            owner.setdefault(id(variable), layer.name)
    return owner


def _flat_layers(model: Any) -> list[Any]:
    """Layers in forward order, nested models opened up."""
    out = []
    for layer in getattr(model, "layers", []):
        if hasattr(layer, "layers") and layer.layers:
            out.extend(_flat_layers(layer))
        else:
            out.append(layer)
    return out


def watched_layers(model: Any) -> list[Any]:
    return [
        layer
        for layer in getattr(model, "layers", [])
        if type(layer).__name__ != "InputLayer"
    ]


def activation_model(model: Any) -> tuple[Any, list[Any]] | tuple[None, list]:
    """A functional view of the model that also returns every layer's output.

    Only Sequential and functional models have a graph to tap; subclassed models are
    probed without per-layer activations (gradients and weights still localise).
    """
    try:
        inputs = model.inputs
        layers = [layer for layer in watched_layers(model) if _single_output(layer)]
        outputs = [layer.output for layer in layers]
        if not layers or outputs[-1] is not model.outputs[0]:
            layers.append(None)
            outputs.append(model.outputs[0])
        if len(model.outputs) != 1:
            return None, []
        return keras.Model(inputs=inputs, outputs=outputs), layers
    except Exception:  # noqa: BLE001 - any model without a usable graph
        return None, []


def _single_output(layer: Any) -> bool:
    try:
        output = layer.output
    except Exception:  # noqa: BLE001
        return False
    return hasattr(output, "shape") and not isinstance(output, (list, tuple, dict))


def _cosine(first: list, second: list) -> Any:
    """The cosine between two lists of tensors taken as one vector (1 when either is zero)."""
    pairs = [(tf.cast(a, tf.float32), tf.cast(b, tf.float32))
             for a, b in zip(first, second, strict=False) if a is not None and b is not None]
    if not pairs:
        return tf.constant(1.0)
    dot = tf.add_n([tf.reduce_sum(a * b) for a, b in pairs])
    norms = tf.sqrt(tf.add_n([tf.reduce_sum(tf.square(a)) for a, _ in pairs]) *
                    tf.add_n([tf.reduce_sum(tf.square(b)) for _, b in pairs]))
    return tf.where(norms > 0, dot / tf.maximum(norms, 1e-30), 1.0)


def _pick(structure: Any, key: Any) -> Any:
    """Output `key`'s part of a structure of predictions or targets (all of it for None; the
    first part when the structure does not know the key: targets given as a list to a model
    whose outputs are named)."""
    if key is None or not isinstance(structure, (dict, list, tuple)):
        return structure
    if isinstance(structure, dict):
        return structure[key if key in structure else list(structure)[0]]
    return structure[key if isinstance(key, int) else 0]


def output_key(model: Any, index: int) -> Any:
    """How to pick output `index` from the model's predictions and targets: its name for a
    model whose outputs are a dict, its position for a list, None for one output."""
    outputs = getattr(model, "_outputs_struct", None)
    if isinstance(outputs, dict):
        return list(outputs)[index]
    try:
        return index if len(model.outputs) > 1 else None
    except (AttributeError, TypeError, ValueError):  # a subclassed model: one output
        return None


def fresh_initializer(initializer: Any) -> Any:
    """A copy of the initializer that draws new values (the seed is left to the global one)."""
    if isinstance(initializer, str):
        initializer = keras.initializers.get(initializer)
    if isinstance(initializer, keras.initializers.Initializer):
        config = initializer.get_config()
        if "seed" in config:
            config["seed"] = None
        return type(initializer).from_config(config)
    return initializer


def accuracy_fn(task: Task):
    """The in-graph accuracy that matches the task (0 for regression)."""

    def accuracy(y, y_pred):
        y_pred = tf.cast(y_pred, tf.float32)
        y = tf.cast(y, tf.float32)
        if task.kind is TaskKind.MULTICLASS:
            predicted = tf.argmax(y_pred, axis=-1)
            if task.label_format is LabelFormat.ONEHOT or (y.shape.rank or 0) == (y_pred.shape.rank or 0) and y.shape[-1] == y_pred.shape[-1] and y_pred.shape[-1] != 1:
                truth = tf.argmax(y, axis=-1)
            else:
                truth = tf.cast(tf.reshape(y, tf.shape(predicted)), tf.int64)
            return tf.reduce_mean(tf.cast(tf.equal(predicted, truth), tf.float32))
        if task.kind in (TaskKind.BINARY, TaskKind.MULTILABEL):
            threshold = 0.0 if (task.from_logits or not task.output_activation.probabilities) else 0.5
            predicted = tf.cast(y_pred > threshold, tf.float32)
            truth = tf.cast(tf.reshape(y, tf.shape(predicted)) > 0.5, tf.float32)
            return tf.reduce_mean(tf.cast(tf.equal(predicted, truth), tf.float32))
        return tf.constant(0.0)

    return accuracy


class Trainer:
    """Train one configuration step by step, measuring as it goes."""

    def __init__(self, model: Any, optimizer: Any, loss: Any, task: Task, data: TrainingData,
                 loss_weights: Any = None, eval_samples: int = 1024, start: Any = None,
                 draws: dict[int, TrainingData] | None = None):
        self.model = model
        self.optimizer = optimizer
        self.task = task
        self.data = data
        # each seed's own draw of the data (a script that draws it at random), else None
        self.draws = draws
        self.loss_weights, self.eval_samples = loss_weights, eval_samples
        self.batch_size = data.batch_size
        self.custom_step = custom_train_step(model)
        # the script's own step may read the compiled metrics (self.metrics, compute_metrics)
        metrics = (getattr(model, "_nanfix_compile", {}) or {}).get("metrics") if self.custom_step else None
        model.compile(optimizer=optimizer, loss=loss, loss_weights=loss_weights, metrics=metrics,
                      jit_compile=False)
        self.output_key = output_key(model, task.output_index)
        self._ensure_built()
        self.tap, tapped = activation_model(model)
        self.tapped_layers = tapped
        owner = _variable_layer(model, trainable=True)
        state_owner = _variable_layer(model, trainable=False)
        trainable = model.trainable_variables
        self.state_variables = [v for v in model.non_trainable_variables
                                if "float" in str(v.dtype) and id(v) in state_owner]
        self.layout = Layout(
            variables=[variable.path for variable in trainable],
            variable_layers=[owner.get(id(v), v.path.split("/")[0]) for v in trainable],
            activation_layers=[layer.name if layer is not None else "output" for layer in tapped],
            dead_layers=[t.name for t in tapped if t is not None and Activation.of(layer_activation(t)).relu_like],
            # the output layer is left out: a confident classifier's sigmoid sits near 0 and 1
            # by design (and the loss sees its logits), hidden layers are the ones that stall
            saturating_layers=[t.name for t in tapped[:-1] if t is not None and Activation.of(layer_activation(t)).saturating],
            state_layers=[state_owner[id(v)] for v in self.state_variables],
        )
        self.slices = self.layout.slices()
        optimizer.build(trainable)
        self._optimizer_start = [np.array(v.numpy()) for v in optimizer.variables]
        # a resumed probe (`--from`): every seed starts from the recorded state
        self.start = start
        self._start_values = resume.assignments(start, model, optimizer) if start is not None else []
        self._accuracy = accuracy_fn(task)
        self._use(data)
        self.skips_overflow = type(self.optimizer).__name__ == "LossScaleOptimizer"
        self.step_fn = tf.function(self._step, jit_compile=False, reduce_retracing=True)
        self.eval_fn = tf.function(self._evaluate, jit_compile=False, reduce_retracing=True)

    # -- set-up -------------------------------------------------------------------------

    def _use(self, data: TrainingData) -> None:
        """Train and evaluate on `data` from now on (its tensors, and what it is judged by)."""
        self.data = data
        self._tensors = self._to_tensors(data.x, data.y, data.sample_weight)
        eval_x, eval_y = self._eval_arrays(self.eval_samples)
        self._eval_tensors = self._to_tensors(eval_x, eval_y, None)
        self.constant_guess_loss = constant_guess_loss(self.task, eval_y)
        if self.constant_guess_loss is not None and isinstance(self.loss_weights, (int, float)):
            # a weighted loss (target scaling in the model) is judged on its own scale
            self.constant_guess_loss *= float(self.loss_weights)
        # several outputs: each regression head must beat its own best constant guess
        self.head_guesses, self._regression_heads = self._heads_to_judge(eval_y)

    def _ensure_built(self) -> None:
        if not self.model.built or not self.model.variables:
            sample = map_nest(lambda a: a[:2], self.data.x)
            self.model(sample)

    def _to_tensors(self, x, y, weight):
        def convert(array):
            array = np.asarray(array)
            if array.dtype == np.float64:
                array = array.astype("float32")
            return tf.convert_to_tensor(array)

        return (map_nest(convert, x), map_nest(convert, y),
                None if weight is None else tf.convert_to_tensor(np.asarray(weight, "float32")))

    def _eval_arrays(self, eval_samples: int):
        if self.data.x_val is not None:
            x, y = self.data.x_val, self.data.y_val
        else:
            x, y = self.data.x, self.data.y
        count = min(first_array(x).shape[0], eval_samples)
        return map_nest(lambda a: np.asarray(a)[:count], x), map_nest(lambda a: np.asarray(a)[:count], y)

    def _heads_to_judge(self, eval_y) -> tuple[dict[str, float], list[tuple[str, Any, Any]]]:
        """({head: its constant-guess loss}, [(head, key, loss function)]) for the regression
        outputs of a multi-output model: the summed loss can fall while one head learns nothing."""
        guesses, heads = {}, []
        for head in self.task.outputs:
            if head.kind is not TaskKind.REGRESSION:
                continue
            key = output_key(self.model, head.output_index)
            guess = constant_guess_loss(head, _pick(eval_y, key))
            if guess is not None:
                guesses[head.output_name] = guess
                heads.append((head.output_name, key, keras.losses.get(head.loss_name)))
        return guesses, heads

    # -- the compiled step -------------------------------------------------------------

    def main_output(self, structure: Any) -> Any:
        """The output the accuracy and prediction statistics describe (`Task.output_index`)."""
        return _pick(structure, self.output_key)

    def _forward(self, x, training):
        if self.tap is not None:
            outputs = self.tap(x, training=training)
            if not isinstance(outputs, (list, tuple)):  # Keras unwraps a one-output list
                outputs = [outputs]
            return outputs[-1], outputs
        return self.model(x, training=training), []

    def _step(self, x_all, y_all, weight_all, index):
        x = map_nest(lambda a: tf.gather(a, index), x_all)
        y = map_nest(lambda a: tf.gather(a, index), y_all)
        weight = None if weight_all is None else tf.gather(weight_all, index)
        trainable = self.model.trainable_variables
        scale = tf.cast(self.optimizer.dynamic_scale, tf.float32) if self.skips_overflow else None
        if self.custom_step:
            loss, y_pred, activations, grads, alignment = self._users_step(x, y, weight, trainable)
        else:
            loss, y_pred, activations, grads = self._keras_step(x, y, weight, trainable)
            alignment = tf.constant(1.0)
        if scale is not None:
            # a LossScaleOptimizer skips a step whose scaled gradients overflowed and lowers
            # its scale: those gradients are its own business, not a divergence; the others
            # are measured unscaled
            grads = [tf.where(tf.math.is_finite(g), tf.cast(g, tf.float32) / scale, tf.zeros_like(g, tf.float32))
                     for g in grads]
        grad_max = [tf.reduce_max(tf.abs(tf.cast(g, tf.float32))) for g in grads]
        grad_rms = [tf.sqrt(tf.reduce_mean(tf.square(tf.cast(g, tf.float32)))) for g in grads]
        grad_sq = tf.add_n([tf.reduce_sum(tf.square(tf.cast(g, tf.float32))) for g in grads]) if grads else tf.constant(0.0)
        weight_max = [tf.reduce_max(tf.abs(tf.cast(v, tf.float32))) for v in trainable]
        weight_norm = [tf.norm(tf.cast(v, tf.float32)) for v in trainable]
        y_main, pred_main = self.main_output(y), self.main_output(y_pred)
        parts = [tf.stack([tf.cast(loss, tf.float32), self._accuracy(y_main, pred_main), grad_sq,
                           alignment])]
        parts += [tf.stack(grad_max), tf.stack(weight_max), tf.stack(weight_norm),
                  tf.stack(grad_rms)] if trainable else []
        parts += self._activation_stats(activations)
        if self.state_variables:
            parts.append(tf.stack([tf.reduce_max(tf.abs(tf.cast(v, tf.float32))) for v in self.state_variables]))
        return tf.concat([tf.reshape(p, [-1]) for p in parts if p.shape[0] != 0], axis=0)

    def _keras_step(self, x, y, weight, trainable):
        """Keras' own step: forward, the compiled loss, gradients, the optimizer."""
        with tf.GradientTape() as tape:
            y_pred, activations = self._forward(x, training=True)
            loss = self.model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=weight, training=True)
            scaled = self.optimizer.scale_loss(loss) if hasattr(self.optimizer, "scale_loss") else loss
        grads = tape.gradient(scaled, trainable)
        grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, trainable, strict=False)]
        self.optimizer.apply_gradients(zip(grads, trainable, strict=False))
        return loss, y_pred, activations, grads

    def _users_step(self, x, y, weight, trainable):
        """The script's own `train_step`, run as its `fit` would run it, measured around it.

        The compiled loss (and the accuracy and activations) is read from an inference
        forward pass before the step, so the step's own randomness and state are untouched;
        the gradients are the ones the step hands to the optimizer, so a step that changes
        them (a sign, a scale, a clip) is measured as it trains. Their cosine with the
        compiled loss's own gradient says whether the step descends that loss at all.
        """
        with tf.GradientTape() as tape:
            y_pred, activations = self._forward(x, training=False)
            loss = self.model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=weight, training=False)
        descent = tape.gradient(loss, trainable)
        applied: dict[int, Any] = {}
        optimizer_apply = self.optimizer.apply

        def recording_apply(grads, trainable_variables=None, *args, **kwargs):
            if not applied:  # the outer call (a LossScaleOptimizer calls its inner one again)
                variables = trainable if trainable_variables is None else trainable_variables
                applied.update({id(v): g for g, v in zip(grads, variables, strict=False)})
            return optimizer_apply(grads, trainable_variables, *args, **kwargs)

        self.optimizer.apply = recording_apply
        try:
            self.model.train_step((x, y) if weight is None else (x, y, weight))
        finally:
            del self.optimizer.apply
        grads = [tf.zeros_like(v) if applied.get(id(v)) is None else applied[id(v)] for v in trainable]
        return loss, y_pred, activations, grads, _cosine(grads, descent)

    def _activation_stats(self, activations) -> list:
        if not activations:
            return []
        nonfinite, largest, dead, saturated = [], [], [], []
        for layer, output in zip(self.tapped_layers, activations, strict=False):
            output = tf.cast(output, tf.float32)
            nonfinite.append(tf.reduce_sum(tf.cast(tf.logical_not(tf.math.is_finite(output)), tf.float32)))
            largest.append(tf.reduce_max(tf.abs(output)))
            name = layer.name if layer is not None else "output"
            if name in self.layout.dead_layers:
                # a unit is dead for this batch when it is zero for every sample
                flat = tf.reshape(output, [tf.shape(output)[0], -1])
                dead.append(tf.reduce_mean(tf.cast(tf.reduce_all(flat <= 0.0, axis=0), tf.float32)))
            if name in self.layout.saturating_layers:
                activation = Activation.of(layer_activation(layer))
                if activation in (Activation.TANH, Activation.SOFTSIGN):
                    saturated.append(tf.reduce_mean(tf.cast(tf.abs(output) > 0.99, tf.float32)))
                else:
                    saturated.append(tf.reduce_mean(tf.cast((output < 0.01) | (output > 0.99), tf.float32)))
        out = [tf.stack(nonfinite), tf.stack(largest)]
        if dead:
            out.append(tf.stack(dead))
        if saturated:
            out.append(tf.stack(saturated))
        return out

    def _evaluate(self, x, y):
        y_pred, _ = self._forward(x, training=False)
        loss = self.model.compute_loss(x=x, y=y, y_pred=y_pred, training=False)
        y_all, pred_all = y, y_pred
        y, y_pred = self.main_output(y), self.main_output(y_pred)
        y_pred32 = tf.cast(y_pred, tf.float32)
        if self.task.kind is TaskKind.MULTICLASS and y_pred32.shape[-1] and y_pred32.shape[-1] > 1:
            counts = tf.math.bincount(tf.cast(tf.argmax(y_pred32, axis=-1), tf.int32))
            top_fraction = tf.cast(tf.reduce_max(counts), tf.float32) / tf.cast(tf.shape(y_pred32)[0], tf.float32)
        elif self.task.kind is TaskKind.BINARY:
            cut = 0.0 if self.task.from_logits else 0.5
            positive = tf.reduce_mean(tf.cast(tf.reshape(y_pred32, [-1]) > cut, tf.float32))
            top_fraction = tf.maximum(positive, 1.0 - positive)
        else:
            top_fraction = tf.constant(0.0)
        spread = tf.reduce_mean(tf.math.reduce_std(tf.reshape(y_pred32, [tf.shape(y_pred32)[0], -1]), axis=0))
        heads = [tf.reduce_mean(tf.cast(loss_fn(_pick(y_all, key), _pick(pred_all, key)), tf.float32))
                 for _, key, loss_fn in self._regression_heads]
        return tf.stack([tf.cast(loss, tf.float32), self._accuracy(y, y_pred), top_fraction, spread, *heads])

    # -- what the probe calls ------------------------------------------------------------

    def reset(self, seed: int) -> None:
        """Fresh weights from the model's own initializers, fresh optimizer state; and, for a
        script that draws its data at random, the data this seed drew."""
        if self.draws and seed in self.draws and self.draws[seed] is not self.data:
            self._use(self.draws[seed])
        keras.utils.set_random_seed(seed)
        for variable in self.model.variables:
            initializer = getattr(variable, "_nanfix_initializer", None)
            if initializer is None:
                continue
            value = fresh_initializer(initializer)(tuple(variable.shape), dtype=variable.dtype)
            variable.assign(value)
        for variable, start in zip(self.optimizer.variables, self._optimizer_start, strict=False):
            variable.assign(start)

    @property
    def resumes(self) -> bool:
        return self.start is not None

    def resume(self) -> None:
        """Put the model and optimizer in the recorded state (after `reset`, which drew the
        fresh weights a resumed seed is judged against)."""
        for variable, value in self._start_values:
            variable.assign(value)

    def batches(self, seed: int):
        """Endless shuffled full batches (a partial last batch would force a retrace)."""
        count = first_array(self.data.x).shape[0]
        size = min(self.batch_size, count)
        rng = np.random.default_rng(seed)
        while True:
            order = rng.permutation(count)
            for start in range(0, count - size + 1, size):
                yield order[start:start + size]

    def step(self, index: np.ndarray) -> np.ndarray:
        x, y, weight = self._tensors
        return self.step_fn(x, y, weight, tf.constant(index, dtype=tf.int32)).numpy()

    def evaluate(self) -> Evaluation:
        x, y, _ = self._eval_tensors
        loss, accuracy, top_fraction, spread, *heads = (float(v) for v in self.eval_fn(x, y).numpy())
        return Evaluation(loss=finite_or_none(loss), accuracy=finite_or_none(accuracy),
                          top_class_fraction=finite_or_none(top_fraction),
                          prediction_spread=finite_or_none(spread),
                          head_losses={name: finite_or_none(value) for (name, _, _), value
                                       in zip(self._regression_heads, heads, strict=True)})

    def unpack(self, vector: np.ndarray) -> dict[str, np.ndarray]:
        return {name: vector[part] for name, part in self.slices.items()}

    def adam_second_moment(self, near_factor: float) -> AdamState | None:
        """For Adam-family optimizers: how close sqrt(v_hat) has come to epsilon (the share of
        parameters within `near_factor` times epsilon)."""
        velocities = getattr(self.optimizer, "_velocities", None)
        epsilon = getattr(self.optimizer, "epsilon", None)
        if not velocities or epsilon is None:
            return None
        beta_2 = float(getattr(self.optimizer, "beta_2", 0.999))
        iterations = max(1, int(self.optimizer.iterations.numpy()))
        correction = 1.0 - beta_2 ** iterations
        roots = np.concatenate([np.sqrt(np.abs(v.numpy().ravel()) / correction) for v in velocities])
        if roots.size == 0:
            return None
        return AdamState(epsilon=float(epsilon), median_sqrt_v=float(np.median(roots)),
                         min_sqrt_v=float(roots.min()),
                         fraction_near_epsilon=float(np.mean(roots < near_factor * float(epsilon))),
                         near_factor=float(near_factor), step=iterations,
                         **self._adam_update_size(roots, correction, iterations, float(epsilon)))

    def _adam_update_size(self, roots: np.ndarray, v_correction: float, iterations: int,
                          epsilon: float) -> dict[str, float]:
        """How large Adam's next step is: the median |m_hat| / (sqrt(v_hat) + eps) (1 when each
        weight moves by a full learning rate whatever its gradient's size) and the step's norm
        against the weights' norm."""
        momentums = getattr(self.optimizer, "_momentums", None)
        if not momentums:
            return {}
        beta_1 = float(getattr(self.optimizer, "beta_1", 0.9))
        m_hat = np.concatenate([np.asarray(m.numpy(), "float64").ravel() for m in momentums]) / \
            (1.0 - beta_1 ** iterations)
        if m_hat.size != roots.size:
            return {}
        ratio = np.abs(m_hat) / (roots + epsilon)
        out = {"median_step_multiplier": float(np.median(ratio))}
        try:
            rate = float(keras.ops.convert_to_numpy(self.optimizer.learning_rate))
        except Exception:  # noqa: BLE001 - a schedule without a current value
            return out
        weights = np.sqrt(sum(float(np.sum(np.square(np.asarray(v.numpy(), "float64"))))
                              for v in self.model.trainable_variables))
        if weights > 0:
            out["update_to_weight"] = float(rate * np.sqrt(np.sum(np.square(ratio))) / weights)
        return out
