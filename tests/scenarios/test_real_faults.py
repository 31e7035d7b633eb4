"""Real-fault classes the first version missed (issue 10), each on a small real training:

- a task made meaningless by its labels (one class left after the loss's cast) is never
  `healthy`, whatever the curve shows, and the degenerate fit is named;
- two causes at once (inputs and targets both unscaled) are cured by their fixes together,
  probed before generic pairs and ranked above a fix that only hides the symptom;
- pixel scaling is offered for pixels only; tabular columns within 0..255 are standardised;
- the new vocabulary (vanishing gradients, oscillating loss, slow convergence, dominant
  regularisation, tiny batches, multi-label under a one-class loss) and the new fix families
  (loss, batch_size, regularization) each fire where they should and cure what they answer;
- a regression that only learned its targets' mean did not learn.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nanfix.capture import hooks as capture  # noqa: E402

capture.install_hooks(__file__)  # variables remember their initializers (per-seed redraws)
capture.stop_capturing()

from builders import blobs, diagnose, make_setup, pixels  # noqa: E402

from nanfix.capture.training_data import looks_like_pixels  # noqa: E402
from nanfix.config import Settings  # noqa: E402
from nanfix.fixes.catalog import FAMILIES, families_for  # noqa: E402
from nanfix.probes.run import Deadline  # noqa: E402
from nanfix.probes.setup import model_config  # noqa: E402
from nanfix.records import FixOutcome, Outcome, StallKind, Verdict  # noqa: E402
from nanfix.session import verdict_of  # noqa: E402
from nanfix.sweep import budget, combine  # noqa: E402
from nanfix.sweep import search as sweep  # noqa: E402


@pytest.fixture(autouse=True)
def no_time_target(monkeypatch):
    monkeypatch.setattr(budget, "REFERENCE_SECONDS", None)


def codes(found):
    return {item.code for item in found}


def mlp(inputs, outputs, activation="softmax", hidden=32):
    return keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(hidden, activation="relu"),
                             keras.layers.Dense(outputs, activation=activation)])


# -- a task its labels make meaningless ----------------------------------------------------------

def test_labels_cast_to_one_class_are_never_a_healthy_training():
    """Labels divided by 255 with the images: sparse cross-entropy casts them all to class 0,
    the loss falls to ~0 and the accuracy reads 1.0 from the first steps."""
    x, ids = pixels(n=512, features=64, classes=5)
    setup = make_setup(mlp(64, 5), keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy",
                       x / 255.0, (ids / 255.0).astype("float32"))
    settings = Settings(seeds=2, steps=120)
    baseline, found = diagnose(setup, settings)
    assert {"L203", "L205", "S806"} <= codes(found)
    assert all(run.stall is StallKind.ONE_CLASS for run in baseline.runs)
    assert all(run.val_accuracy > 0.99 for run in baseline.runs)  # the curve looks perfect
    verdict, reason = verdict_of(baseline, found)
    assert verdict is Verdict.STALLS and reason is None  # the measured stall decides it here


def test_an_error_that_voids_the_task_decides_a_healthy_looking_verdict():
    """Targets a sigmoid can never produce, learned anyway as far as the curve shows: the
    error finding makes the verdict `stalls` and says why the curve looks fine."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype("float32")
    y = (np.abs(x[:, :1]) * 3.0).astype("float32")  # 0..~9 behind a sigmoid output
    model = mlp(8, 1, activation="sigmoid")
    setup = make_setup(model, keras.optimizers.Adam(1e-2), "mse", x, y)
    settings = Settings(seeds=2, steps=120)
    baseline, found = diagnose(setup, settings)
    assert "L204" in codes(found)
    forced = baseline.runs[:]
    for run in forced:  # whatever the probe measured, take the curve as healthy
        run.outcome = Outcome.HEALTHY
    verdict, reason = verdict_of(baseline, found)
    assert verdict is Verdict.STALLS and "L204" in reason and "looks healthy" in reason
    assert verdict_of(baseline, [item for item in found if item.code != "L204"])[0] is Verdict.HEALTHY


def test_a_regression_that_learned_only_the_mean_did_not_learn():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(512, 6)).astype("float32")
    y = (x @ rng.normal(size=6) + 50.0).astype("float32")  # mostly a large offset
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    # inputs of all zeros: only the bias can learn, and the best it can learn is the mean
    setup = make_setup(model, keras.optimizers.Adam(0.5), "mse", np.zeros_like(x), y)
    baseline, _ = diagnose(setup, Settings(seeds=1, steps=150))
    run = baseline.runs[0]
    assert run.final_loss < 0.2 * run.start_loss  # the loss fell a lot: the mean was learned
    assert run.outcome is Outcome.STALLED and run.stall is StallKind.MEAN_ONLY


# -- two causes at once --------------------------------------------------------------------------

def two_unscaled():
    """House prices: features in the thousands, targets around 250,000; SGD diverges."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (1024, 8)) * np.array([5000, 120, 3, 40000, 60, 7, 900, 250])
    y = (x / x.std(0)) @ rng.normal(size=8) * 30000 + 250000
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
    return make_setup(model, keras.optimizers.SGD(0.01), "mse", x.astype("float32"),
                      y.astype("float32").reshape(-1, 1))


def test_two_causes_are_answered_by_their_fixes_together_before_a_symptom_fix():
    setup = two_unscaled()
    settings = Settings(seeds=2, steps=150, families=["input_scaling", "target_scaling", "clipping", "lr"])
    baseline, found = diagnose(setup, settings)
    assert {"D104", "D105"} <= codes(found)
    results = sweep.find_fixes(setup, baseline, found, settings, Deadline(300), None)
    singles = [fix for fix in results if "+" not in fix.id and fix.family != "clipping"]
    assert singles and all(fix.outcome is not FixOutcome.CURES for fix in singles)
    best = results[0]
    assert best.outcome is FixOutcome.CURES and set(best.family.split("+")) == {"input_scaling", "target_scaling"}
    # both, each in the model: a Normalization first, a Rescaling last with its loss weight
    assert best.seeds_ok == 2 and len(best.changes) == 3 and best.families == ["input_scaling", "target_scaling"]


def test_leave_one_out_drops_each_part_of_a_three_part_combination():
    fixes = {name: FAMILIES[name].fixes(two_unscaled(), [])[0] for name in ("input_scaling", "target_scaling", "lr")}
    together = combine.combine(*fixes.values())
    assert len(together.parts) == 3
    left = combine.leave_one_out(together, {fix.id: fix for fix in fixes.values()})
    assert sorted(len(fix.parts) for fix in left) == [2, 2, 2]
    assert {frozenset(fix.parts) for fix in left} == {frozenset(together.parts) - {part} for part in together.parts}
    assert not combine.compatible([fixes["lr"], *FAMILIES["optimizer"].fixes(two_unscaled(), [])])


# -- the words of a fix --------------------------------------------------------------------------

def test_pixel_scaling_is_for_pixels_only():
    images, _ = pixels(n=64, features=64)
    rng = np.random.default_rng(0)
    tabular = np.stack([rng.integers(18, 90, 64), rng.integers(0, 240, 64), rng.integers(1, 5, 64)],
                       axis=1).astype("float32")  # age, a test score, a rating
    assert looks_like_pixels(images) and looks_like_pixels(images.reshape(64, 8, 8))
    assert not looks_like_pixels(tabular) and not looks_like_pixels(images / 255.0)
    model = mlp(3, 2)
    setup = make_setup(model, keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", tabular,
                       rng.integers(0, 2, 64))
    proposed = FAMILIES["input_scaling"].fixes(setup, [])
    assert proposed and all("255" not in fix.title for fix in proposed)
    assert any("3 input columns" in fix.title for fix in proposed)


def test_keras3_hidden_logits_are_said_plainly():
    x, ids = blobs()
    setup = make_setup(mlp(20, 4, activation="sigmoid"), keras.optimizers.Adam(1e-2),
                       "categorical_crossentropy", x, np.eye(4)[ids])
    _, found = diagnose(setup, Settings(seeds=1, steps=60))
    pairing = next(item for item in found if item.code == "P301")
    assert "Keras 3 hides this" in pairing.message and "Keras 2" in pairing.message


# -- the new vocabulary and families -------------------------------------------------------------

def test_deep_sigmoid_stack_shows_vanishing_gradients_answered_by_normalising_or_relu():
    x, ids = blobs(features=20)
    layers = [keras.layers.Dense(16, activation="sigmoid") for _ in range(12)]
    model = keras.Sequential([keras.Input((20,)), *layers, keras.layers.Dense(4, activation="softmax")])
    setup = make_setup(model, keras.optimizers.SGD(0.05), "categorical_crossentropy", x, np.eye(4)[ids])
    baseline, found = diagnose(setup, Settings(seeds=2, steps=100))
    assert "U903" in codes(found)
    vanishing = next(item for item in found if item.code == "U903")
    assert vanishing.evidence["ratio"] < 1e-3
    assert {"batchnorm", "activation", "init"} <= set(families_for("U903"))


def test_a_dominant_l2_factor_is_found_and_a_usual_one_cures_it():
    x, ids = blobs()
    heavy = keras.regularizers.L2(10.0)
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(32, activation="relu", kernel_regularizer=heavy),
                              keras.layers.Dense(4, activation="softmax", kernel_regularizer=heavy)])
    setup = make_setup(model, keras.optimizers.Adam(1e-2), "categorical_crossentropy", x, np.eye(4)[ids])
    settings = Settings(seeds=2, steps=150, families=["regularization"])
    baseline, found = diagnose(setup, settings)
    assert "M404" in codes(found) and baseline.seeds_ok == 0
    results = sweep.find_fixes(setup, baseline, found, settings, Deadline(300), None)
    assert results[0].family == "regularization" and results[0].outcome is FixOutcome.CURES
    assert "L2(l2=10) → L2(l2=0.0001)" in " ".join(results[0].changes)


def test_multilabel_targets_under_categorical_crossentropy_get_sigmoid_and_binary_crossentropy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 10)).astype("float32")
    y = (x[:, :5] + 0.3 * rng.normal(size=(512, 5)) > 0).astype("float32")  # several tags a row
    setup = make_setup(mlp(10, 5), keras.optimizers.Adam(1e-2), "categorical_crossentropy", x, y)
    settings = Settings(seeds=1, steps=60)
    _, found = diagnose(setup, settings)
    assert "P306" in codes(found) and "L203" not in codes(found)  # labels, just the wrong loss
    fix = next(f for f in FAMILIES["loss"].fixes(setup, found) if f.id == "loss-multilabel-bce")
    fixed = fix.apply(setup)
    assert fixed.task.kind == "multilabel" and fixed.task.loss_name == "binary_crossentropy"


def test_batch_of_one_with_heavy_momentum_is_named_and_a_larger_batch_is_proposed():
    x, ids = blobs(n=256)
    setup = make_setup(mlp(20, 4), keras.optimizers.SGD(0.05, momentum=0.99), "categorical_crossentropy",
                       x, np.eye(4)[ids], batch_size=1)
    _, found = diagnose(setup, Settings(seeds=1, steps=200))
    assert "O502" in codes(found)
    proposed = FAMILIES["batch_size"].fixes(setup, found)
    assert [fix.id for fix in proposed] == ["batch-32", "batch-128"]
    assert proposed[0].apply(setup).data.batch_size == 32


def test_a_rate_far_too_low_is_slow_convergence_and_the_usual_rate_is_tried_first():
    x, ids = blobs()
    setup = make_setup(mlp(20, 4), keras.optimizers.Adam(1e-6), "categorical_crossentropy", x, np.eye(4)[ids])
    settings = Settings(seeds=2, steps=150, families=["lr"], max_fixes=3)
    baseline, found = diagnose(setup, settings)
    assert {"O501", "S805"} <= codes(found) and baseline.seeds_ok == 0
    proposed = FAMILIES["lr"].fixes(setup, found)
    assert proposed[0].id == "lr-0.001"  # Adam's usual rate: x1000, past the grid's raises
    results = sweep.find_fixes(setup, baseline, found, settings, Deadline(300), None)
    assert results[0].id == "lr-0.001" and results[0].outcome is FixOutcome.CURES


def test_float16_layers_get_float32_or_loss_scaling_and_both_still_train():
    x, ids = blobs()
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(32, activation="relu", dtype="float16"),
                              keras.layers.Dense(4, activation="softmax", dtype="float16")])
    setup = make_setup(model, keras.optimizers.SGD(0.1), "categorical_crossentropy", x, np.eye(4)[ids])
    _, found = diagnose(setup, Settings(seeds=1, steps=20))
    assert "M403" in codes(found) and "precision" in families_for("M403")
    proposed = {fix.id: fix for fix in FAMILIES["precision"].fixes(setup, found)}
    assert set(proposed) == {"precision-float32", "precision-loss-scale"}
    settings = Settings(seeds=1, steps=150, families=["precision"])
    results = {fix.id: fix for fix in sweep.find_fixes(setup, None, found, settings, Deadline(300), None)}
    assert results["precision-float32"].seeds_ok == 1 and results["precision-loss-scale"].seeds_ok == 1
    fixed = proposed["precision-float32"].apply(setup)
    rebuilt = fixed.model_edits[-1](model_config(setup.model))
    assert "float16" in str(model_config(setup.model)) and "float16" not in str(rebuilt)


def test_a_warm_up_cures_a_divergence_at_the_start_and_keeps_the_scripts_rate():
    """Six ReLU layers, SGD at 0.3 with momentum 0.9: the first steps blow up; warmed up
    over 100 steps, the same rate trains."""
    x, ids = blobs(n=1024)
    layers = [keras.layers.Dense(64, activation="relu") for _ in range(6)]
    model = keras.Sequential([keras.Input((20,)), *layers, keras.layers.Dense(4, activation="softmax")])
    setup = make_setup(model, keras.optimizers.SGD(0.3, momentum=0.9), "categorical_crossentropy",
                       x, np.eye(4)[ids])
    settings = Settings(seeds=3, steps=300, families=["schedule"])
    baseline, found = diagnose(setup, settings)
    assert baseline.seeds_ok == 0 and all(run.steps_run < 50 for run in baseline.runs)
    results = sweep.find_fixes(setup, baseline, found, settings, Deadline(300), None)
    warm = next(fix for fix in results if fix.id == "lr-warmup")
    assert warm.outcome is FixOutcome.CURES and warm.seeds_ok == 3
    assert "PiecewiseConstantDecay([50, 100], [0.003, 0.03, 0.3])" in warm.snippet


def test_a_deep_stack_is_modelled_dearer_so_its_sweep_buys_fewer_candidates():
    shallow = mlp(16, 1, activation="sigmoid")
    deep = keras.Sequential([keras.Input((16,)), *[keras.layers.Dense(16, activation="sigmoid") for _ in range(20)],
                             keras.layers.Dense(1, activation="sigmoid")])
    assert budget.extra_layers(shallow) == 0 and budget.extra_layers(deep) == 21 - budget.FREE_LAYERS
    assert budget.candidate_seconds(shallow) == budget.CANDIDATE_OVERHEAD_S
    assert budget.candidate_seconds(deep) > 10 * budget.CANDIDATE_OVERHEAD_S
    assert budget.step_seconds(deep, 32) > 2 * budget.step_seconds(shallow, 32)


def test_binary_labels_counted_from_one_are_repaired_and_judged_against_their_own_chance():
    """Labels {1, 2} behind a sigmoid: every prediction 1 is 'right' (S806); mapping them to
    {0, 1} cures it, judged against the repaired labels' chance, not the broken ones' 100%."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("float32") + 1.0
    setup = make_setup(mlp(8, 1, activation="sigmoid"), keras.optimizers.Adam(1e-2), "binary_crossentropy", x, y)
    settings = Settings(seeds=2, steps=150, families=["data"])
    baseline, found = diagnose(setup, settings)
    assert {"L204", "S806"} <= codes(found)
    results = sweep.find_fixes(setup, baseline, found, settings, Deadline(300), None)
    assert results[0].id == "labels-from-zero" and results[0].outcome is FixOutcome.CURES
    assert "None" not in results[0].note


# --- a cure keeps the task (issue 28) ---------------------------------------------------------

TASKS = Path(__file__).resolve().parent.parent / "scripts" / "tasks"


def sweep_of(name: str):
    from fixture_runs import examine

    report, _, _ = examine(TASKS / name)
    return report


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ten_classes_one_sigmoid.py", "five_classes_one_logit.py"])
def test_labels_the_head_cannot_represent_get_a_wider_head_and_keep_every_class(name):
    report = sweep_of(name)
    top = report.fixes[0]
    assert top.outcome is FixOutcome.CURES and top.families == ["head"], [(f.id, f.outcome) for f in report.fixes]
    assert top.data_change is None  # the head changed, not the data
    for fix in report.fixes:  # no fix that cures by dropping classes is even tried
        assert not fix.data_change or fix.data_change.get("classes", [0, 0])[1] == fix.data_change["classes"][0]
    assert report.likely_cause.confirmed_by == top.id


@pytest.mark.slow
def test_a_few_stray_labels_are_still_repaired_by_dropping_their_rows():
    report = sweep_of("stray_labels.py")
    assert report.verdict is Verdict.ERROR  # the step raises on a label outside the output
    top = report.fixes[0]
    assert top.id == "labels-drop-out-of-range" and top.outcome is FixOutcome.CURES
    assert top.data_change == {"rows": [1800, 1797], "classes": [12, 10]}
    assert "drop 3 rows with labels outside 0..9" in top.changes[0]
