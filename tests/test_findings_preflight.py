"""Tests for the pre-flight rules (nanfix/findings/{data,labels,pairing,model,optimizer}.py).

Every code has a positive test on a tiny real Keras model with small NumPy data that shows the
problem, with its evidence checked, and the healthy setups at the top must give no ERROR or
WARNING at all. Nothing is trained: pre-flight rules only look.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

import nanfix.capture.task as task_module
import nanfix.findings as findings
from nanfix import fixes
from nanfix.capture.hooks import Capture
from nanfix.capture.origins import remember
from nanfix.capture.training_data import TrainingData
from nanfix.config import Settings
from nanfix.findings.arrays import measure_array
from nanfix.findings.catalog import RULES, Context
from nanfix.records import Severity

RNG = np.random.default_rng(0)
FAMILIES = {
    "batchnorm",
    "lr",
    "epsilon",
    "input_scaling",
    "target_scaling",
    "pairing",
    "clipping",
    "init",
    "activation",
    "data",
    "stable_loss",
    "optimizer",
    "loss",
    "batch_size",
    "regularization",
    "precision",
    "schedule",
}
PREFLIGHT_CODES = {
    "D101",
    "D102",
    "D103",
    "D104",
    "D105",
    "L201",
    "L202",
    "L203",
    "L204",
    "L205",
    "P301",
    "P302",
    "P303",
    "P304",
    "P305",
    "P306",
    "P307",
    "M401",
    "M402",
    "M403",
    "M404",
    "O501",
    "O502",
    "K601",
}


def diagnose(model, x, y, loss, optimizer="adam", capture=None, **compile_args):
    """Compile, build the Context as the session does, run every pre-flight rule."""
    model.compile(optimizer=optimizer, loss=loss, **compile_args)
    context = Context(
        model=model,
        optimizer=model.optimizer,
        loss=loss,
        task=task_module.infer(model, loss, y),
        data=TrainingData(x=x, y=y, sample_weight=None, batch_size=32),
        settings=Settings(),
        capture=capture,
    )
    found = fixes.link(findings.run("preflight", context))  # as the session does
    broken = [f.message for f in found if f.code == "X000"]
    assert not broken, broken
    return found


def codes(found, severities=(Severity.ERROR, Severity.WARNING, Severity.INFO)):
    return {f.code for f in found if f.severity in severities}


def only(found, code):
    matches = [f for f in found if f.code == code]
    assert len(matches) == 1, (code, [(f.code, f.message) for f in found])
    return matches[0]


def serious(found):
    return {f.code: f.message for f in found if f.severity in (Severity.ERROR, Severity.WARNING)}


def mlp(inputs, outputs, activation, hidden_activation="relu", **output_args):
    return keras.Sequential(
        [
            keras.Input((inputs,)),
            layers.Dense(16, activation=hidden_activation),
            layers.Dense(outputs, activation=activation, **output_args),
        ]
    )


def scaled(rows=64, columns=8):
    return RNG.normal(size=(rows, columns)).astype("float32")


def class_ids(rows=64, classes=10):
    ids = RNG.integers(0, classes, rows)
    ids[:classes] = np.arange(classes)  # every class present
    return ids


def one_hot(rows=64, classes=10):
    return np.eye(classes, dtype="float32")[class_ids(rows, classes)]


# --- the catalog -------------------------------------------------------------------------------


def test_every_preflight_code_is_registered_once_with_an_explanation():
    preflight = {code for code, entry in RULES.items() if entry.stage == "preflight"}
    assert preflight == PREFLIGHT_CODES
    names = [RULES[code].name for code in PREFLIGHT_CODES]
    assert len(set(names)) == len(names)
    for code in PREFLIGHT_CODES:
        entry = RULES[code]
        assert 3 <= len(entry.explanation.splitlines()) <= 8, code
        assert set(fixes.families_for(code)) <= FAMILIES, code
        assert findings.get(code.lower()) is entry


# --- healthy setups: the negative tests -------------------------------------------------------

HEALTHY = {
    "softmax + categorical + one-hot": lambda: (
        mlp(8, 10, "softmax"),
        one_hot(),
        "categorical_crossentropy",
    ),
    "softmax + sparse + ids": lambda: (
        mlp(8, 10, "softmax"),
        class_ids(),
        "sparse_categorical_crossentropy",
    ),
    "logits + sparse(from_logits)": lambda: (
        mlp(8, 10, None),
        class_ids(),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    ),
    "sigmoid + binary": lambda: (
        mlp(8, 1, "sigmoid"),
        RNG.integers(0, 2, (64, 1)).astype("float32"),
        "binary_crossentropy",
    ),
    "multi-label sigmoid + binary": lambda: (
        mlp(8, 4, "sigmoid"),
        RNG.integers(0, 2, (64, 4)).astype("float32"),
        keras.losses.BinaryCrossentropy(),
    ),
    "linear regression head": lambda: (
        mlp(8, 1, None),
        RNG.normal(3, 2, (64, 1)).astype("float32"),
        "mse",
    ),
    "sigmoid regression in 0..1": lambda: (
        mlp(8, 1, "sigmoid"),
        RNG.random((64, 1)).astype("float32"),
        "mse",
    ),
}


@pytest.mark.parametrize("name", list(HEALTHY))
def test_healthy_setup_has_no_warnings(name):
    model, y, loss = HEALTHY[name]()
    found = diagnose(model, scaled(), y, loss)
    assert serious(found) == {}


def test_healthy_cnn_on_scaled_images_is_quiet():
    x = RNG.random((32, 12, 12, 1)).astype("float32")
    model = keras.Sequential(
        [
            keras.Input((12, 12, 1)),
            layers.Conv2D(4, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )
    assert serious(diagnose(model, x, one_hot(32, 3), "categorical_crossentropy")) == {}


# --- D1xx data ---------------------------------------------------------------------------------


def test_measure_array_matches_numpy_across_chunks(monkeypatch):
    import nanfix.findings.arrays as data

    monkeypatch.setattr(data, "CHUNK_ELEMENTS", 37)  # many uneven chunks
    x = RNG.normal(5.0, 3.0, size=(101, 7))
    stats = measure_array(x)
    assert stats.mean == pytest.approx(x.mean())
    assert stats.std == pytest.approx(x.std())
    np.testing.assert_allclose(stats.column_min, x.min(axis=0))
    np.testing.assert_allclose(stats.column_max, x.max(axis=0))


def test_d101_nonfinite_inputs_names_rows_and_columns():
    x = scaled()
    x[3, 5] = np.nan
    x[7, 5] = np.nan
    x[10, 0] = np.inf
    item = only(diagnose(mlp(8, 10, "softmax"), x, one_hot(), "categorical_crossentropy"), "D101")
    assert item.severity is Severity.ERROR
    assert item.evidence["nan"] == 2 and item.evidence["inf"] == 1
    assert item.evidence["rows"] == [3, 7, 10]
    assert item.evidence["columns"] == [0, 5]
    assert "3, 7, 10" in item.message


def test_d101_image_positions_are_pixel_coordinates():
    x = RNG.random((8, 4, 4, 1)).astype("float32")
    x[2, 1, 3, 0] = np.nan
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), layers.Flatten(), layers.Dense(3, activation="softmax")]
    )
    item = only(diagnose(model, x, one_hot(8, 3), "categorical_crossentropy"), "D101")
    assert item.evidence["rows"] == [2]
    assert item.evidence["columns"] == [(1, 3, 0)]


def test_d102_nonfinite_targets():
    y = RNG.normal(size=(64, 1)).astype("float32")
    y[4, 0] = np.nan
    item = only(diagnose(mlp(8, 1, None), scaled(), y, "mse"), "D102")
    assert item.severity is Severity.ERROR
    assert item.evidence["rows"] == [4] and item.evidence["nan"] == 1


def test_d103_some_constant_columns_is_info():
    x = scaled()
    x[:, [0, 3, 6]] = 0.0
    item = only(diagnose(mlp(8, 10, "softmax"), x, one_hot(), "categorical_crossentropy"), "D103")
    assert item.severity is Severity.INFO
    assert item.evidence["constant_columns"] == 3 and item.evidence["first"] == [0, 3, 6]


def test_d103_all_constant_columns_is_a_warning():
    x = np.ones((64, 8), dtype="float32")
    item = only(diagnose(mlp(8, 10, "softmax"), x, one_hot(), "categorical_crossentropy"), "D103")
    assert item.severity is Severity.WARNING
    assert item.evidence["constant_columns"] == 8


def test_d104_raw_pixels_are_unscaled():
    x = RNG.integers(0, 256, size=(64, 8)).astype("uint8")
    item = only(diagnose(mlp(8, 10, "softmax"), x, one_hot(), "categorical_crossentropy"), "D104")
    assert item.severity is Severity.WARNING
    assert item.evidence["raw_pixels"] is True and item.evidence["x_max"] == 255
    assert "raw 0..255 pixels" in item.message


def test_d104_token_ids_feeding_an_embedding_are_not_unscaled_inputs():
    tokens = RNG.integers(1, 5000, size=(64, 20))  # a text classifier's padded word ids
    for model in (keras.Sequential([keras.Input((20,), dtype="int32"), layers.Embedding(5000, 8),
                                    layers.LSTM(8), layers.Dense(2, activation="softmax")]),
                  _functional_embedding()):
        found = diagnose(model, tokens, one_hot(classes=2), "categorical_crossentropy")
        assert "D104" not in codes(found)
        assert fixes.FAMILIES["input_scaling"].fixes(_setup_of(model, tokens), []) == []  # nothing to scale
    pixels = RNG.integers(0, 256, size=(64, 8)).astype("float32")  # the same values as features:
    assert "D104" in codes(diagnose(mlp(8, 2, "softmax"), pixels, one_hot(classes=2), "categorical_crossentropy"))


def _functional_embedding():
    words = keras.Input((20,), dtype="int32")
    pooled = layers.GlobalAveragePooling1D()(layers.Embedding(5000, 8)(words))
    return keras.Model(words, layers.Dense(2, activation="softmax")(pooled))


def _setup_of(model, x):
    from nanfix.probes.setup import from_capture

    y = one_hot(classes=2)
    data = TrainingData(x=x, y=y, sample_weight=None, batch_size=32)
    return from_capture(model, model.optimizer, "categorical_crossentropy", data,
                        task_module.infer(model, "categorical_crossentropy", y))


def test_d104_large_continuous_inputs_are_not_called_pixels():
    x = (RNG.normal(size=(64, 8)) * 5000).astype("float32")
    item = only(diagnose(mlp(8, 10, "softmax"), x, one_hot(), "categorical_crossentropy"), "D104")
    assert item.evidence["raw_pixels"] is False
    assert "standardise" in item.message


def test_d105_large_regression_targets():
    y = RNG.normal(200000, 50000, size=(64, 1)).astype("float32")
    item = only(diagnose(mlp(8, 1, None), scaled(), y, "mse"), "D105")
    assert item.severity is Severity.WARNING
    assert item.evidence["y_max"] > 100000
    assert item.fix_families == ["target_scaling"]


def test_d105_not_for_classifiers():
    assert "D105" not in codes(
        diagnose(mlp(8, 10, "softmax"), scaled(), class_ids(), "sparse_categorical_crossentropy")
    )


# --- L2xx labels -------------------------------------------------------------------------------


def test_l201_one_hot_targets_with_sparse_loss():
    item = only(
        diagnose(mlp(8, 10, "softmax"), scaled(), one_hot(), "sparse_categorical_crossentropy"),
        "L201",
    )
    assert item.severity is Severity.ERROR
    assert item.evidence["y_shape"] == [64, 10] and item.evidence["expected"] == "class ids"


def test_l201_class_ids_with_categorical_loss():
    found = diagnose(
        mlp(8, 10, "softmax"), scaled(), class_ids().reshape(-1, 1), "categorical_crossentropy"
    )
    item = only(found, "L201")
    assert item.evidence["expected"] == "one-hot rows" and item.evidence["output_units"] == 10
    assert "integer class ids" in item.message


def test_l202_sparse_ids_counted_from_one():
    y = class_ids() + 1  # 1..10 for a 10-unit output
    item = only(
        diagnose(mlp(8, 10, "softmax"), scaled(), y, "sparse_categorical_crossentropy"), "L202"
    )
    assert item.severity is Severity.ERROR
    assert item.evidence["values"] == [10.0] and item.evidence["label_max"] == 10
    assert item.evidence["count"] == int(np.sum(y == 10))


def test_l202_one_hot_width_differs_from_output_units():
    item = only(
        diagnose(mlp(8, 10, "softmax"), scaled(), one_hot(64, 5), "categorical_crossentropy"),
        "L202",
    )
    assert item.evidence["width"] == 5 and item.evidence["output_units"] == 10


def test_l203_class_ids_divided_by_255():
    y = class_ids() / 255.0
    item = only(
        diagnose(mlp(8, 10, "softmax"), scaled(), y, "sparse_categorical_crossentropy"), "L203"
    )
    assert item.severity is Severity.ERROR
    assert "divided by 255" in item.message


def test_l203_one_hot_rows_scaled():
    y = one_hot() / 255.0
    item = only(diagnose(mlp(8, 10, "softmax"), scaled(), y, "categorical_crossentropy"), "L203")
    assert item.evidence["rows_not_summing_to_one"] == 64


def test_l204_class_ids_into_a_sigmoid_with_binary_crossentropy():
    y = class_ids().reshape(-1, 1).astype("float32")
    item = only(diagnose(mlp(8, 1, "sigmoid"), scaled(), y, "binary_crossentropy"), "L204")
    assert item.severity is Severity.ERROR
    assert item.evidence["target_max"] == 9 and item.evidence["allowed"] == [0.0, 1.0]
    assert "class ids" in item.message


def test_l204_targets_beyond_a_sigmoid_output_with_mse():
    y = RNG.uniform(0, 100, size=(64, 1)).astype("float32")
    item = only(diagnose(mlp(8, 1, "sigmoid"), scaled(), y, "mse"), "L204")
    assert item.severity is Severity.ERROR
    assert item.evidence["activation"] == "sigmoid"


def test_l204_a_few_negative_targets_under_relu_is_a_warning():
    y = RNG.uniform(0, 5, size=(64, 1)).astype("float32")
    y[:2] = -1.0
    item = only(diagnose(mlp(8, 1, "relu"), scaled(), y, "mse"), "L204")
    assert item.severity is Severity.WARNING
    assert item.evidence["count"] == 2 and item.evidence["rows"] == [0, 1]


# --- P3xx pairing ------------------------------------------------------------------------------


def test_p301_sigmoid_output_with_categorical_crossentropy():
    model = mlp(8, 10, "sigmoid")
    remember(model.layers[-1], "_nanfix_origin", "train.py:12")
    item = only(diagnose(model, scaled(), one_hot(), "categorical_crossentropy"), "P301")
    assert item.severity is Severity.ERROR
    assert item.evidence["activation"] == "sigmoid" and item.where == "train.py:12"


def test_p301_linear_output_with_binary_crossentropy():
    y = RNG.integers(0, 2, (64, 1)).astype("float32")
    item = only(diagnose(mlp(8, 1, None), scaled(), y, "binary_crossentropy"), "P301")
    assert item.severity is Severity.ERROR and item.evidence["activation"] == "linear"


def test_p301_activation_layer_after_dense_counts_as_the_output():
    model = keras.Sequential(
        [
            keras.Input((8,)),
            layers.Dense(16, activation="relu"),
            layers.Dense(10),
            layers.Activation("softmax"),
        ]
    )
    assert "P301" not in codes(diagnose(model, scaled(), one_hot(), "categorical_crossentropy"))


def test_p302_softmax_on_one_unit():
    y = RNG.integers(0, 2, (64, 1)).astype("float32")
    item = only(diagnose(mlp(8, 1, "softmax"), scaled(), y, "binary_crossentropy"), "P302")
    assert item.severity is Severity.ERROR
    assert item.evidence["output_units"] == 1 and "sigmoid" in item.message
    assert "P301" not in codes(diagnose(mlp(8, 1, "softmax"), scaled(), y, "binary_crossentropy"))


def test_p303_softmax_output_with_from_logits():
    loss = keras.losses.CategoricalCrossentropy(from_logits=True)
    item = only(diagnose(mlp(8, 10, "softmax"), scaled(), one_hot(), loss), "P303")
    assert item.severity is Severity.ERROR and item.evidence["activation"] == "softmax"


def test_p303_sigmoid_output_with_from_logits_is_a_warning():
    loss = keras.losses.BinaryCrossentropy(from_logits=True)
    y = RNG.integers(0, 2, (64, 1)).astype("float32")
    item = only(diagnose(mlp(8, 1, "sigmoid"), scaled(), y, loss), "P303")
    assert item.severity is Severity.WARNING


def bare_log_loss(y_true, y_pred):
    return -keras.ops.sum(y_true * keras.ops.log(y_pred), axis=-1)


def clipped_log_loss(y_true, y_pred):
    return -keras.ops.sum(y_true * keras.ops.log(keras.ops.clip(y_pred, 1e-8, 1.0)), axis=-1)


def clipped_on_its_own_line_loss(y_true, y_pred):
    # the seed-001 "fix": clip first, then take the log of the clipped prediction
    y_pred = keras.ops.clip(y_pred, 1e-8, keras.ops.max(y_pred))
    return -keras.ops.sum(y_true * keras.ops.log(y_pred))


def stable_loss(y_true, logits):
    return -keras.ops.sum(y_true * keras.ops.log_softmax(logits), axis=-1)


class BareLogLoss(keras.losses.Loss):
    def __init__(self, name="bare_log"):
        super().__init__(name=name)

    def call(self, y_true, y_pred):
        smooth = keras.ops.log(1.0 + y_true)  # a log of the targets only: not the prediction
        return -keras.ops.sum(smooth * keras.ops.log(y_pred), axis=-1)


def test_p304_bare_log_in_a_custom_loss_points_at_the_line():
    item = only(diagnose(mlp(8, 10, "softmax"), scaled(), one_hot(), bare_log_loss), "P304")
    assert item.severity is Severity.ERROR and item.evidence["kind"] == "bare"
    line = bare_log_loss.__code__.co_firstlineno + 1
    assert item.where == f"test_findings_preflight.py:{line}"
    assert "log(y_pred)" in item.evidence["expression"]


def test_p304_clipped_log_hides_the_nan_but_cuts_the_gradient():
    item = only(diagnose(mlp(8, 10, "softmax"), scaled(), one_hot(), clipped_log_loss), "P304")
    assert item.severity is Severity.WARNING and item.evidence["kind"] == "clipped"
    assert "clip hides the NaN" in item.message and "gradient" in item.message


def test_p304_clip_on_an_earlier_line_is_still_a_clip():
    found = diagnose(mlp(8, 10, "softmax"), scaled(), one_hot(), clipped_on_its_own_line_loss)
    item = only(found, "P304")
    assert item.evidence["kind"] == "clipped" and "keras.ops.clip" in item.evidence["clipped_by"]
    line = clipped_on_its_own_line_loss.__code__.co_firstlineno + 3
    assert item.where == f"test_findings_preflight.py:{line}"


def test_p304_loss_subclass_and_stable_formulation():
    item = only(diagnose(mlp(8, 10, "softmax"), scaled(), one_hot(), BareLogLoss()), "P304")
    assert item.evidence["log_calls"] == 1  # log(1 + y_true) is not counted
    assert "P304" not in codes(diagnose(mlp(8, 10, None), scaled(), one_hot(), stable_loss))


def test_p305_mse_on_one_hot_classifier_is_info():
    item = only(diagnose(mlp(8, 10, "softmax"), scaled(), one_hot(), "mse"), "P305")
    assert item.severity is Severity.INFO
    assert item.evidence["label_format"] == "onehot"


# --- M4xx model --------------------------------------------------------------------------------


def test_m401_linear_layer_before_relu_layer_seed_000():
    model = keras.Sequential(
        [
            keras.Input((8,)),
            layers.Dense(32),
            layers.Dense(16, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    remember(model.layers[0], "_nanfix_origin", "train.py:40")
    item = only(diagnose(model, scaled(), one_hot(), "categorical_crossentropy"), "M401")
    assert item.severity is Severity.WARNING
    assert item.evidence["layers"] == [model.layers[0].name, model.layers[1].name]
    assert item.evidence["without_activation"] == [model.layers[0].name]
    assert item.where == "train.py:40" and "train.py:40" in item.message


def test_m401_whole_network_linear_is_an_error_seed_002():
    model = keras.Sequential(
        [keras.Input((8,)), layers.Dense(30), layers.Dropout(0.1), layers.Dense(10)]
    )
    item = only(diagnose(model, scaled(), one_hot(), "mse"), "M401")
    assert item.severity is Severity.ERROR and item.evidence["whole_network_linear"] is True
    assert item.evidence["layers"] == [model.layers[0].name, model.layers[2].name]


def test_m401_follows_a_functional_graph_through_flatten():
    inputs = keras.Input((6, 6, 1))
    conv = layers.Conv2D(4, 3, name="conv_linear")(inputs)
    dense = layers.Dense(8, activation="relu", name="after_flatten")(layers.Flatten()(conv))
    side = layers.Dense(8, activation="relu", name="side")(layers.Flatten()(inputs))
    outputs = layers.Dense(3, activation="softmax")(layers.Concatenate()([dense, side]))
    model = keras.Model(inputs, outputs)
    x = RNG.random((16, 6, 6, 1)).astype("float32")
    item = only(diagnose(model, x, one_hot(16, 3), "categorical_crossentropy"), "M401")
    assert item.evidence["layers"] == ["conv_linear", "after_flatten"]
    assert item.severity is Severity.WARNING


def test_m402_random_normal_stddev_1_on_784_inputs():
    model = keras.Sequential(
        [
            keras.Input((784,)),
            layers.Dense(
                30,
                activation="sigmoid",
                kernel_initializer=keras.initializers.RandomNormal(stddev=1),
            ),
            layers.Dense(10, activation="softmax"),
        ]
    )
    x = RNG.random((32, 784)).astype("float32")
    item = only(diagnose(model, x, one_hot(32), "categorical_crossentropy"), "M402")
    assert item.severity is Severity.WARNING
    assert item.evidence["layer"] == model.layers[0].name
    assert item.evidence["glorot_std"] == pytest.approx((2 / (784 + 30)) ** 0.5)
    assert item.evidence["ratio"] > 15
    assert item.evidence["kernel_initializer"].startswith("RandomNormal(")


def test_m402_large_bias_and_variance_scaling():
    model = keras.Sequential(
        [
            keras.Input((8,)),
            layers.Dense(16, activation="relu", bias_initializer=keras.initializers.Constant(3.0)),
            layers.Dense(
                10,
                activation="softmax",
                kernel_initializer=keras.initializers.VarianceScaling(scale=100.0),
            ),
        ]
    )
    found = [
        f
        for f in diagnose(model, scaled(), one_hot(), "categorical_crossentropy")
        if f.code == "M402"
    ]
    by_layer = {f.evidence["layer"]: f for f in found}
    assert by_layer[model.layers[0].name].evidence["bias_scale"] == 3.0
    assert "kernel_scale" not in by_layer[model.layers[0].name].evidence
    assert by_layer[model.layers[1].name].evidence["ratio"] > 5


def test_m403_float16_layers_without_loss_scaling():
    model = keras.Sequential(
        [
            keras.Input((8,)),
            layers.Dense(16, activation="relu", dtype="float16"),
            layers.Dense(10, activation="softmax", dtype="float32"),
        ]
    )
    item = only(diagnose(model, scaled(), one_hot(), "categorical_crossentropy"), "M403")
    assert item.evidence["policy"] == "float16" and item.evidence["layers"] == [
        model.layers[0].name
    ]
    assert item.evidence["optimizer"] == "Adam"


def test_m403_not_when_the_optimizer_scales_the_loss():
    model = keras.Sequential(
        [
            keras.Input((8,)),
            layers.Dense(16, activation="relu", dtype="mixed_float16"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam())
    assert "M403" not in codes(
        diagnose(model, scaled(), one_hot(), "categorical_crossentropy", optimizer)
    )


# --- O501 / K601 -------------------------------------------------------------------------------


def test_o501_sgd_learning_rate_3():
    found = diagnose(
        mlp(8, 10, "softmax"),
        scaled(),
        one_hot(),
        "categorical_crossentropy",
        keras.optimizers.SGD(learning_rate=3.0),
    )
    item = only(found, "O501")
    assert item.severity is Severity.WARNING
    assert item.evidence["optimizer"] == "SGD" and item.evidence["learning_rate"] == pytest.approx(
        3.0
    )
    assert item.evidence["side"] == "above" and item.evidence["usual_range"] == [1e-5, 1.0]


def test_o501_tiny_adam_learning_rate():
    item = only(
        diagnose(
            mlp(8, 10, "softmax"),
            scaled(),
            one_hot(),
            "categorical_crossentropy",
            keras.optimizers.Adam(learning_rate=1e-8),
        ),
        "O501",
    )
    assert item.evidence["side"] == "below"


def test_o501_schedule_is_judged_by_its_peak():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.5, decay_steps=100, decay_rate=0.5)
    item = only(
        diagnose(
            mlp(8, 10, "softmax"),
            scaled(),
            one_hot(),
            "categorical_crossentropy",
            keras.optimizers.Adam(learning_rate=schedule),
        ),
        "O501",
    )
    assert item.evidence["schedule"] == "ExponentialDecay"
    assert item.evidence["learning_rate"] == pytest.approx(0.5)


def test_o501_sees_through_loss_scaling_and_accepts_usual_rates():
    wrapped = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(learning_rate=5.0))
    item = only(
        diagnose(mlp(8, 10, "softmax"), scaled(), one_hot(), "categorical_crossentropy", wrapped),
        "O501",
    )
    assert item.evidence["optimizer"] == "SGD"
    usual = keras.optimizers.SGD(learning_rate=0.01)
    assert "O501" not in codes(
        diagnose(mlp(8, 10, "softmax"), scaled(), one_hot(), "categorical_crossentropy", usual)
    )


def test_k601_one_finding_per_legacy_spelling():
    model = mlp(8, 10, "softmax")
    capture = Capture(
        script="train.py",
        model=model,
        compile_args={},
        fit_args={},
        origins={"compile": "train.py:30", "optimizer": "train.py:29", "fit": "train.py:33"},
        legacy=[
            ("lr", "train.py:29"),
            ("lr", "train.py:29"),
            ("lr", "train.py:41"),
            ("fit_generator", "train.py:33"),
        ],
    )
    found = [
        f
        for f in diagnose(model, scaled(), one_hot(), "categorical_crossentropy", capture=capture)
        if f.code == "K601"
    ]
    by_name = {f.evidence["legacy"]: f for f in found}
    assert set(by_name) == {"lr", "fit_generator"}
    assert by_name["lr"].evidence["lines"] == ["train.py:29", "train.py:41"]
    assert by_name["lr"].where == "train.py:29" and "learning_rate=" in by_name["lr"].message
    assert by_name["fit_generator"].severity is Severity.INFO
    assert "nanfix ran your script by translating" in by_name["fit_generator"].message


def test_k601_silent_without_capture():
    assert "K601" not in codes(
        diagnose(mlp(8, 10, "softmax"), scaled(), one_hot(), "categorical_crossentropy")
    )


# --- the seeds, end to end ----------------------------------------------------------------------


def test_seed_000_setup_gets_its_diagnoses():
    x = RNG.integers(0, 256, size=(200, 784)).astype("int64")
    x[:, :20] = 0
    model = keras.Sequential(
        [
            keras.Input((784,)),
            layers.Dense(784),
            layers.Dense(50, activation="relu"),
            layers.Dense(10, activation="sigmoid"),
        ]
    )
    found = diagnose(model, x, one_hot(200), "categorical_crossentropy", keras.optimizers.SGD(1e-4))
    assert {"D103", "D104", "M401", "P301"} <= codes(found)
    assert "O501" not in codes(found)


def test_seed_002_setup_gets_its_diagnoses():
    normal = keras.initializers.RandomNormal(stddev=1)
    model = keras.Sequential(
        [
            keras.Input((784,)),
            layers.Dense(30, kernel_initializer=normal, bias_initializer=normal),
            layers.Dense(10, kernel_initializer=normal, bias_initializer=normal),
        ]
    )
    x = RNG.random((64, 784)).astype("float32")
    found = diagnose(
        model, x, one_hot(), "mean_squared_error", keras.optimizers.SGD(learning_rate=3.0)
    )
    assert {"M401", "M402", "O501", "P305"} <= codes(found)
    assert only(found, "M401").severity is Severity.ERROR


# --- nests and unusual models -------------------------------------------------------------------


def test_multi_input_multi_output_models_are_judged_on_what_can_be_judged():
    first, second = keras.Input((8,)), keras.Input((3,))
    hidden = layers.Dense(16, activation="relu")(layers.Concatenate()([first, second]))
    classes = layers.Dense(10, activation="sigmoid", name="classes")(hidden)
    value = layers.Dense(1, name="value")(hidden)
    model = keras.Model([first, second], [classes, value])
    x = [RNG.normal(size=(64, 8)) * 300, scaled(64, 3)]
    y = [one_hot(), RNG.normal(size=(64, 1))]
    found = diagnose(model, x, y, ["categorical_crossentropy", "mse"])
    assert codes(found) == {"D104"}  # the first input; no pairing verdict on two outputs


def test_m402_custom_initializer_is_measured_from_the_weights():
    class Huge(keras.initializers.Initializer):
        def __call__(self, shape, dtype=None):
            return keras.random.normal(shape, stddev=10.0, dtype=dtype)

    model = keras.Sequential(
        [
            keras.Input((8,)),
            layers.Dense(16, activation="relu", kernel_initializer=Huge()),
            layers.Dense(10, activation="softmax"),
        ]
    )
    item = only(diagnose(model, scaled(), one_hot(), "categorical_crossentropy"), "M402")
    assert item.evidence["kernel_scale"] == pytest.approx(10.0, rel=0.3)
