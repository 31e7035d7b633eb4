"""Tests for nanfix.fixes: the catalog proposes the right fixes with the right descriptions,
and each main family, on a tiny real model where it is the right cure, is measured as
`cures` and ranked first.

Setups are built directly (no script): a compiled model, TrainingData, the inferred task.
The measured tests restrict `Settings.families` to the right family and a competitor and use
a short budget, so each takes a few seconds on two CPU cores.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nanfix.capture import hooks as capture  # noqa: E402

capture.install_hooks(__file__)  # variables remember their initializers (per-seed redraws)
capture.stop_capturing()  # ...and GradientTape works for our own training

from builders import blobs, diagnose, make_setup, pixels  # noqa: E402

from nanfix import fixes  # noqa: E402
from nanfix.config import Settings  # noqa: E402
from nanfix.fixes.catalog import FAMILIES  # noqa: E402
from nanfix.probes.build import build_model  # noqa: E402
from nanfix.probes.run import Deadline  # noqa: E402
from nanfix.probes.setup import layer_configs, model_config  # noqa: E402
from nanfix.records import Finding, Severity  # noqa: E402
from nanfix.sweep import budget  # noqa: E402
from nanfix.sweep import search as sweep  # noqa: E402


@pytest.fixture(autouse=True)
def no_time_target(monkeypatch):
    """Measure every planned candidate: no budget but the plan's own max_fixes."""
    monkeypatch.setattr(budget, "REFERENCE_SECONDS", None)


# -- small data and setups --------------------------------------------------------------------






def mlp(inputs, outputs, output_activation="softmax", hidden=32, activation="relu", **dense):
    return keras.Sequential([keras.Input((inputs,)),
                             keras.layers.Dense(hidden, activation=activation, **dense),
                             keras.layers.Dense(outputs, activation=output_activation, **dense)])






def measure(setup, families, steps=200, seeds=3):
    settings = Settings(seeds=seeds, steps=steps, families=families)
    baseline, found = diagnose(setup, settings)
    results = sweep.find_fixes(setup, baseline, found, settings, Deadline(120), None)
    return baseline, found, results


def by_id(fix_list, fix_id):
    matches = [fix for fix in fix_list if fix.id == fix_id]
    assert matches, f"{fix_id} not among {[fix.id for fix in fix_list]}"
    return matches[0]


def proposed(setup, family, found=(), grid=None):
    return FAMILIES[family].fixes(setup, list(found), grid)


def finding(code, families=(), severity=Severity.ERROR):
    return Finding(code=code, title=code, severity=severity, message=code, fix_families=list(families))


def book_network():
    """Seed 002: 784-30-10, no activations, N(0, 1) weights and biases."""
    init = keras.initializers.RandomNormal(stddev=1.0)
    return keras.Sequential([keras.Input((784,)),
                             keras.layers.Dense(30, kernel_initializer=init, bias_initializer=init),
                             keras.layers.Dense(10, kernel_initializer=init, bias_initializer=init)])


def activations(model):
    return [layer["config"].get("activation") for layer in layer_configs(model_config(model))]


# -- the catalog ----------------------------------------------------------------------------------


def test_every_family_is_registered(tmp_path):
    from nanfix.config.plan import PlanError, load_plan

    # The plan checks family names against the catalog itself: every family is a valid name...
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"families: [{', '.join(FAMILIES)}]\n")
    assert set(load_plan(str(plan))["families"]) == set(FAMILIES)
    plan.write_text("families: [lr, no_such_family]\n")  # ...and nothing else is
    with pytest.raises(PlanError, match="no_such_family"):
        load_plan(str(plan))
    assert set(FAMILIES) >= {"lr", "epsilon", "input_scaling", "target_scaling", "pairing",
                             "clipping", "init", "activation", "data", "stable_loss", "optimizer"}
    for family in FAMILIES.values():
        assert family.title and family.answers, family.name


def test_fixes_describe_themselves_and_leave_the_setup_alone():
    x, ids = blobs()
    large = keras.initializers.RandomNormal(stddev=1.0)
    setup = make_setup(mlp(20, 4, "linear", activation=None, kernel_initializer=large),
                       keras.optimizers.SGD(learning_rate=3.0), "mse", x, np.eye(4)[ids])
    candidates = fixes.candidates(setup, [])
    assert {fix.family for fix in candidates} >= {"lr", "clipping", "activation", "pairing", "optimizer"}
    for fix in candidates:
        assert fix.id and fix.title and fix.changes and fix.answers, fix
        assert fix.size >= 1 and fix.magnitude > 0
        changed = fix.apply(setup)
        assert changed is not setup and changed.label == fix.id
    assert setup.model_edits == [] and setup.optimizer_settings["learning_rate"] == pytest.approx(3.0)


def test_learning_rate_grid_spans_three_decades_below_the_scripts_rate():
    x, ids = blobs()
    setup = make_setup(mlp(20, 4), keras.optimizers.SGD(learning_rate=3.0),
                       "categorical_crossentropy", x, np.eye(4)[ids])
    lowered = proposed(setup, "lr", [finding("N701")])
    rates = sorted(fix.apply(setup).optimizer_settings["learning_rate"] for fix in lowered)
    assert rates == pytest.approx([0.003, 0.009, 0.03, 0.09, 0.3, 0.9])
    assert by_id(lowered, "lr-0.3").changes == ("SGD(learning_rate=3.0) → SGD(learning_rate=0.3)",)
    assert by_id(lowered, "lr-0.3").magnitude < by_id(lowered, "lr-0.003").magnitude
    # a stall (and no divergence) also tries larger rates, up to x100 but never above 1.0
    raised = {fix.id for fix in proposed(setup, "lr", [finding("S803")])}
    assert not {"lr-30", "lr-9"} & raised
    slow = make_setup(mlp(20, 4), keras.optimizers.Adam(learning_rate=1e-5),
                      "categorical_crossentropy", x, np.eye(4)[ids])
    assert {"lr-0.001", "lr-0.0001", "lr-3e-05"} <= {fix.id for fix in proposed(slow, "lr", [finding("S803")])}
    # a plan's grid gives the values outright
    assert [fix.id for fix in proposed(setup, "lr", [], grid=[0.5, 0.05])] == ["lr-0.5", "lr-0.05"]


def test_epsilon_applies_to_adam_family_and_changes_the_optimizer_config():
    x, ids = blobs()
    for optimizer in (keras.optimizers.Adam(1e-5), keras.optimizers.RMSprop(), keras.optimizers.Nadam()):
        setup = make_setup(mlp(20, 4), optimizer, "categorical_crossentropy", x, np.eye(4)[ids])
        found = proposed(setup, "epsilon", [finding("N706")])
        assert [fix.id for fix in found] == ["epsilon-0.001", "epsilon-0.01", "epsilon-0.0001", "epsilon-0.1"]
        changed = by_id(found, "epsilon-0.01").apply(setup)
        assert changed.optimizer_settings["epsilon"] == 0.01
        assert keras.optimizers.deserialize(changed.optimizer_config).epsilon == pytest.approx(0.01)
        assert setup.optimizer_settings["epsilon"] == pytest.approx(1e-7)
    sgd = make_setup(mlp(20, 4), keras.optimizers.SGD(0.1), "categorical_crossentropy", x, np.eye(4)[ids])
    assert not FAMILIES["epsilon"].applies(sgd, [])
    assert by_id(found, "epsilon-0.01").applies(setup, []) and not by_id(found, "epsilon-0.01").applies(sgd, [])


def test_clipping_sets_only_one_kind_of_clip():
    x, ids = blobs()
    setup = make_setup(mlp(20, 4), keras.optimizers.SGD(0.1, clipnorm=5.0),
                       "categorical_crossentropy", x, np.eye(4)[ids])
    found = proposed(setup, "clipping")
    assert {fix.id for fix in found} == {"clipnorm-1", "global_clipnorm-1", "clipvalue-0.5"}
    for fix in found:
        optimizer = keras.optimizers.deserialize(fix.apply(setup).optimizer_config)  # Keras allows one
        assert sum(getattr(optimizer, key) is not None for key in ("clipnorm", "global_clipnorm", "clipvalue")) == 1


def test_input_scaling_divides_pixels_by_255_in_train_and_validation_data():
    x, ids = pixels()
    setup = make_setup(mlp(64, 10), keras.optimizers.SGD(0.1), "categorical_crossentropy",
                       x[:400], np.eye(10)[ids[:400]], x_val=x[400:], y_val=np.eye(10)[ids[400:]])
    found = proposed(setup, "input_scaling", [finding("D104", ["input_scaling"])])
    divide = by_id(found, "inputs-divide-255")
    changed = divide.apply(setup)
    assert changed.data.x.max() <= 1.0 and changed.data.x_val.max() <= 1.0
    assert setup.data.x.max() > 200  # the original is untouched
    assert divide.edits[0].lines == ("{x} = {x} / 255.0",)
    standardised = by_id(found, "inputs-standardise").apply(setup).data.x
    assert abs(float(standardised.mean())) < 0.05


def test_target_scaling_standardises_large_regression_targets():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = (x @ rng.normal(size=(4, 1)) * 300 + 1000).astype("float32")
    setup = make_setup(mlp(4, 1, "linear"), keras.optimizers.SGD(0.01), "mse", x, y)
    (fix,) = proposed(setup, "target_scaling")
    scaled = fix.apply(setup).data.y
    assert abs(float(scaled.mean())) < 1e-3 and float(scaled.std()) == pytest.approx(1.0, rel=1e-3)
    assert "y_pred * y_std + y_mean" in fix.changes[0]


def test_pairing_softmax_for_sigmoid_under_categorical_crossentropy():
    x, ids = blobs(classes=5)
    setup = make_setup(mlp(20, 5, "sigmoid"), keras.optimizers.SGD(0.1), "categorical_crossentropy",
                       x, np.eye(5)[ids])
    found = proposed(setup, "pairing", [finding("P301", ["pairing"])])
    softmax = by_id(found, "output-softmax")
    changed = softmax.apply(setup)
    assert activations(build_model(changed))[-1] == "softmax"
    assert changed.task.output_activation == "softmax"
    assert softmax.changes[0].endswith("activation sigmoid → softmax")
    logits = by_id(found, "output-logits").apply(setup)
    assert activations(build_model(logits))[-1] == "linear"
    assert logits.loss.get_config()["from_logits"] is True and logits.task.from_logits


def test_pairing_switches_between_sparse_and_one_hot_losses():
    x, ids = blobs(classes=4)
    ids_setup = make_setup(mlp(20, 4), keras.optimizers.SGD(0.1), "categorical_crossentropy", x, ids)
    (fix,) = [f for f in proposed(ids_setup, "pairing") if f.id == "loss-sparse"]
    assert fix.apply(ids_setup).loss == "sparse_categorical_crossentropy"
    onehot_setup = make_setup(mlp(20, 4), keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy",
                              x, np.eye(4)[ids])
    assert by_id(proposed(onehot_setup, "pairing"), "loss-categorical").apply(onehot_setup).loss == \
        "categorical_crossentropy"


def test_pairing_sigmoid_for_a_single_softmax_unit():
    x, ids = blobs(classes=2)
    setup = make_setup(mlp(20, 1, "softmax"), keras.optimizers.SGD(0.1), "binary_crossentropy",
                       x, ids.astype("float32"))
    assert [fix.id for fix in proposed(setup, "pairing")] == ["output-sigmoid", "output-logits"]


def test_activation_fixes_a_linear_stack_with_softmax_on_the_output():
    x, ids = pixels(n=64, features=784)
    setup = make_setup(book_network(), keras.optimizers.SGD(3.0), "mse", x / 255, np.eye(10)[ids])
    found = proposed(setup, "activation", [finding("M401", ["activation"])])
    assert [fix.id for fix in found] == ["activation-relu", "activation-sigmoid"]
    assert activations(build_model(by_id(found, "activation-relu").apply(setup))) == ["relu", "softmax"]
    assert activations(build_model(by_id(found, "activation-sigmoid").apply(setup))) == ["sigmoid", "softmax"]


def test_activation_replaces_exponential_and_deep_sigmoid_stacks():
    model = keras.Sequential([keras.Input((8,))] + [keras.layers.Dense(8, activation="sigmoid")
                                                    for _ in range(3)]
                             + [keras.layers.Dense(8, activation="exponential"),
                                keras.layers.Dense(3, activation="softmax")])
    x, ids = blobs(n=64, features=8, classes=3)
    setup = make_setup(model, keras.optimizers.SGD(0.1), "categorical_crossentropy", x, np.eye(3)[ids])
    (fix,) = proposed(setup, "activation")
    assert activations(build_model(fix.apply(setup))) == ["relu"] * 4 + ["softmax"]


def test_init_replaces_large_normals_with_fan_in_initializers_and_zero_biases():
    x, ids = pixels(n=64, features=784)
    setup = make_setup(book_network(), keras.optimizers.SGD(3.0), "mse", x / 255, np.eye(10)[ids])
    (fix,) = proposed(setup, "init", [finding("M402", ["init"])])
    rebuilt = build_model(fix.apply(setup))
    for layer in rebuilt.layers:
        assert type(layer.kernel_initializer).__name__ == "GlorotUniform"
        assert type(layer.bias_initializer).__name__ == "Zeros"
    assert "RandomNormal" in fix.changes[0] and "glorot_uniform" in fix.changes[0]


def test_data_fixes_drop_or_impute_nonfinite_rows():
    x, ids = blobs()
    x[::50, 2] = np.nan
    x[7, 0] = np.inf
    setup = make_setup(mlp(20, 4), keras.optimizers.SGD(0.1), "categorical_crossentropy", x, np.eye(4)[ids])
    found = proposed(setup, "data", [finding("D101", ["data"])])
    assert all(fix.data_fix for fix in found)
    dropped = by_id(found, "data-drop-nonfinite").apply(setup).data
    assert np.isfinite(dropped.x).all() and len(dropped.x) == len(dropped.y) == 512 - 12
    imputed = by_id(found, "data-impute-mean").apply(setup).data
    assert np.isfinite(imputed.x).all() and len(imputed.x) == 512
    assert "The data must change" in found[0].note


def test_data_fix_counts_class_ids_from_zero():
    x, ids = blobs(classes=4)
    setup = make_setup(mlp(20, 4), keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", x, ids + 1)
    (fix,) = proposed(setup, "data", [finding("L202", ["data"])])
    assert fix.id == "labels-from-zero" and fix.apply(setup).data.y.max() == 3


def test_stable_loss_replaces_a_hand_written_log_loss():
    def cross_entropy(y_true, y_pred):
        return -keras.ops.sum(y_true * keras.ops.log(y_pred), axis=-1)

    x, ids = blobs()
    setup = make_setup(mlp(20, 4), keras.optimizers.SGD(0.1), cross_entropy, x, np.eye(4)[ids])
    found = proposed(setup, "stable_loss", [finding("P304", ["stable_loss"])])
    builtin = by_id(found, "loss-builtin")
    assert type(builtin.apply(setup).loss).__name__ == "CategoricalCrossentropy"
    assert builtin.edits[-1].code == "{keras}.losses.CategoricalCrossentropy()"
    logits = by_id(found, "loss-builtin-logits").apply(setup)
    assert logits.loss.get_config()["from_logits"] and activations(build_model(logits))[-1] == "linear"


def test_model_edits_are_skipped_for_a_subclassed_model():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(16)
            self.out = keras.layers.Dense(4)

        def call(self, x):
            return self.out(self.hidden(x))

    x, ids = blobs()
    model = Net()
    model(x[:2])
    setup = make_setup(model, keras.optimizers.SGD(3.0), "categorical_crossentropy", x, np.eye(4)[ids])
    families = {fix.family for fix in fixes.candidates(setup, [])}
    assert "lr" in families and not families & {"activation", "init"}


def test_plan_takes_the_findings_families_first_and_respects_the_settings():
    x, ids = pixels()
    setup = make_setup(mlp(64, 10), keras.optimizers.SGD(0.1), "categorical_crossentropy", x, np.eye(10)[ids])
    found = [finding("D104", ["input_scaling"]), finding("N703", ["lr", "clipping"])]
    plan = fixes.plan(setup, found, Settings())
    assert plan[0].family == "input_scaling"
    assert len({fix.family for fix in plan[:5]}) >= 3  # families interleave: a cap keeps variety
    capped = fixes.plan(setup, found, Settings(max_fixes=4, families=["lr", "clipping"]))
    assert len(capped) == 4 and {fix.family for fix in capped} == {"lr", "clipping"}


# -- measured cures ---------------------------------------------------------------------------------


def test_lr_fix_cures_sgd_at_fifty():
    x, ids = blobs()
    setup = make_setup(mlp(20, 4), keras.optimizers.SGD(learning_rate=50.0),
                       "categorical_crossentropy", x, np.eye(4)[ids])
    baseline, _, results = measure(setup, ["lr", "clipping"])
    assert baseline.seeds_ok == 0
    best = results[0]
    assert best.family == "lr" and best.outcome == "cures" and best.rank == 1
    assert best.seeds_ok == best.seeds == 3 and best.probe.seeds == 3
    assert all(fix.outcome != "cures" for fix in results if fix.family == "clipping")


def test_input_scaling_cures_raw_pixels():
    x, ids = pixels()
    setup = make_setup(mlp(64, 10), keras.optimizers.SGD(learning_rate=0.1),
                       "categorical_crossentropy", x, np.eye(10)[ids])
    baseline, found, results = measure(setup, ["input_scaling", "lr"])
    assert baseline.seeds_ok == 0 and "D104" in {f.code for f in found}
    assert results[0].id == "inputs-divide-255" and results[0].outcome == "cures"
    assert results[0].changes[0].startswith("x → x / 255.0")


def test_pairing_cures_softmax_on_a_single_unit():
    x, ids = blobs(classes=2)
    setup = make_setup(mlp(20, 1, "softmax", hidden=16), keras.optimizers.SGD(0.1),
                       "binary_crossentropy", x, ids.astype("float32").reshape(-1, 1))
    baseline, _, results = measure(setup, ["pairing", "lr"], steps=150)
    assert baseline.seeds_ok == 0
    assert results[0].family == "pairing" and results[0].outcome == "cures"
    assert results[0].id == "output-sigmoid"
    assert all(fix.outcome != "cures" for fix in results if fix.family == "lr")


def test_activation_cures_the_book_network():
    x, ids = pixels(n=600, features=784, noise=60.0)
    setup = make_setup(book_network(), keras.optimizers.SGD(learning_rate=3.0), "mean_squared_error",
                       x / 255.0, np.eye(10)[ids], batch_size=10)
    baseline, _, results = measure(setup, ["activation", "lr"], steps=200)
    assert baseline.seeds_ok == 0
    assert results[0].id == "activation-sigmoid" and results[0].outcome == "cures"
    relu = by_id(results, "activation-relu")
    assert relu.outcome == "fails" and "nothing learned" in relu.note


def test_data_fix_is_the_only_cure_for_nan_rows():
    x, ids = blobs()
    x[::40, 3] = np.nan
    setup = make_setup(mlp(20, 4), keras.optimizers.SGD(0.1), "categorical_crossentropy", x, np.eye(4)[ids])
    baseline, found, results = measure(setup, ["data", "lr", "clipping", "input_scaling"], steps=150)
    assert baseline.seeds_ok == 0
    assert results[0].data_fix and results[0].outcome == "cures" and results[0].family == "data"
    assert "The data must change" in results[0].note
    for fix in results:
        if not fix.data_fix:
            assert fix.outcome != "cures", fix.id
            assert "only a data fix can cure" in fix.note


def test_init_fix_cures_large_normal_weights():
    x, ids = blobs()
    init = keras.initializers.RandomNormal(stddev=3.0)
    model = keras.Sequential([keras.Input((20,)),
                              keras.layers.Dense(64, activation="relu", kernel_initializer=init),
                              keras.layers.Dense(64, activation="relu", kernel_initializer=init),
                              keras.layers.Dense(4, activation="softmax", kernel_initializer=init)])
    setup = make_setup(model, keras.optimizers.SGD(0.05), "categorical_crossentropy", x, np.eye(4)[ids])
    baseline, _, results = measure(setup, ["init"], steps=150)
    assert baseline.seeds_ok == 0
    assert results[0].id == "init-fan-in" and results[0].outcome == "cures" and results[0].rank == 1
