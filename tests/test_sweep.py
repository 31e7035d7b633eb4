"""Tests for nanfix.sweep, nanfix.rank and nanfix.patch: choosing and probing candidates
(successive halving, combinations, the deadline, progress events), judging them against the
baseline (a hidden NaN or a data problem is never a cure), ranking, the plan file, one-axis
sweeps, and the diff: it applies to a real script, which then trains without NaN.
"""

from __future__ import annotations

import ast
import math
import os
import re
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nanfix.capture import hooks as capture  # noqa: E402

capture.install_hooks(__file__)
capture.stop_capturing()

from builders import blobs, diagnose, make_setup, pixels  # noqa: E402

from nanfix.capture import task as task_module  # noqa: E402
from nanfix.capture.hooks import Capture  # noqa: E402
from nanfix.capture.origins import remember  # noqa: E402
from nanfix.capture.training_data import TrainingData  # noqa: E402
from nanfix.config import Settings  # noqa: E402
from nanfix.config import plan as fixplan  # noqa: E402
from nanfix.fixes.catalog import FAMILIES  # noqa: E402
from nanfix.fixes.source import apply as source_apply  # noqa: E402
from nanfix.fixes.source import diff as source_diff  # noqa: E402
from nanfix.probes.build import build_trainer  # noqa: E402
from nanfix.probes.run import Deadline  # noqa: E402
from nanfix.probes.setup import from_capture  # noqa: E402
from nanfix.probes.stack import probe_seeds  # noqa: E402
from nanfix.records import Finding, FixResult, Outcome, ProbeResult, SeedRun, Severity  # noqa: E402
from nanfix.sweep import axis, budget, combine, rank  # noqa: E402
from nanfix.sweep import search as sweep  # noqa: E402


def sgd_fifty():
    """A small MLP on easy data with SGD at 50: diverges; a lower rate cures it."""
    x, ids = blobs()
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(4, activation="softmax")])
    return make_setup(model, keras.optimizers.SGD(learning_rate=50.0), "categorical_crossentropy",
                      x, np.eye(4)[ids])




def data_finding(code="D102"):
    return Finding(code=code, title="Targets contain NaN", severity=Severity.ERROR,
                   message="3 of 512 targets are NaN", fix_families=["data"])



@pytest.fixture(autouse=True)
def no_time_target(monkeypatch):
    """Measure every planned candidate: no budget but the plan's own max_fixes."""
    monkeypatch.setattr(budget, "REFERENCE_SECONDS", None)


# -- the plan file -------------------------------------------------------------------------------


def test_load_plan_reads_families_grids_and_limits(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("families: [lr, input_scaling]\ngrids:\n  lr: [0.1, 0.01]\nmax_fixes: 6\nsteps: 200\n")
    plan = fixplan.load_plan(str(path))
    assert plan == {"families": ["lr", "input_scaling"], "grids": {"lr": [0.1, 0.01]},
                    "max_fixes": 6, "steps": 200}
    settings = Settings(**plan)
    assert settings.families == ["lr", "input_scaling"]


@pytest.mark.parametrize("text, message", [
    ("famlies: [lr]\n", "unknown key 'famlies'"),
    ("families: [lr, learning_rate]\n", "unknown fix family learning_rate"),
    ("grids:\n  lr: [fast]\n", "grids.lr must be a list of numbers"),
    ("max_fixes: 0\n", "max_fixes must be a positive whole number"),
    ("- lr\n", "a plan is a mapping"),
])
def test_load_plan_says_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    with pytest.raises(fixplan.PlanError, match=re.escape(message)) as error:
        fixplan.load_plan(str(path))
    assert str(path) in str(error.value)
    if "unknown key" in message:
        assert "families:" in str(error.value) and "grids:" in str(error.value)


# -- ranking ----------------------------------------------------------------------------------------


def fake(fix_id, outcome, accuracies, size=1, elapsed=1.0):
    runs = [SeedRun(seed=i, outcome=Outcome.HEALTHY if outcome == "cures" else Outcome.STALLED,
                    steps_run=100, start_loss=2.3, final_loss=0.5, val_accuracy=accuracy)
            for i, accuracy in enumerate(accuracies)]
    result = ProbeResult(label=fix_id, runs=runs, steps=100, elapsed_s=elapsed)
    return FixResult(id=fix_id, family=fix_id.split("-")[0], title=fix_id, changes=[], outcome=outcome,
                     seeds_ok=result.seeds_ok, seeds=len(runs), probe=result, size=size)


def test_rank_orders_by_cure_then_accuracy_then_the_smallest_change():
    task = task_module.Task(kind="multiclass", classes=4, loss_name="categorical_crossentropy",
                            from_logits=False, output_activation="softmax", label_format="onehot",
                            chance_accuracy=0.25, chance_loss=math.log(4))
    results = [
        fake("improves-good", "improves", [0.99, 0.99, 0.99]),
        fake("lr-0.001", "cures", [0.951, 0.95, 0.95]),
        fake("lr-0.1", "cures", [0.952, 0.95, 0.95]),  # same accuracy bucket, smaller magnitude
        fake("activation-relu", "cures", [0.95, 0.95, 0.95], size=2),
        fake("pairing-best", "cures", [0.99, 0.98, 0.99], size=3),
        fake("clip-fails", "fails", [0.3, 0.3, 0.3]),
    ]
    ranked = rank.rank(results, task, magnitude={"lr-0.001": 3.0, "lr-0.1": 1.0})
    assert [fix.id for fix in ranked] == ["pairing-best", "lr-0.1", "lr-0.001", "activation-relu",
                                          "improves-good", "clip-fails"]
    assert [fix.rank for fix in ranked] == [1, 2, 3, 4, 5, 6]


def test_rank_puts_the_fix_for_the_diagnosed_cause_first_when_it_trains_about_as_well():
    task = task_module.Task(kind="multiclass", classes=10, loss_name="custom",
                            from_logits=False, output_activation="softmax", label_format="onehot",
                            chance_accuracy=0.1, chance_loss=math.log(10))
    # seed 001: a lower rate survives the budget a little better, but log(0) stays in the loss
    results = [fake("lr-0.002", "cures", [0.973, 0.97, 0.975]),
               fake("stable_loss-builtin", "cures", [0.943, 0.94, 0.945], size=2),
               fake("clipping-1", "cures", [0.95, 0.95, 0.95])]
    ranked = rank.rank(results, task, cause_families={"stable_loss", "pairing"})
    assert [fix.id for fix in ranked] == ["stable_loss-builtin", "lr-0.002", "clipping-1"]
    # without a diagnosed cause, the measure alone decides
    assert rank.rank(results, task)[0].id == "lr-0.002"
    # a cause fix that trained clearly worse (more than 5 points) does not jump the queue
    results[1] = fake("stable_loss-builtin", "cures", [0.80, 0.81, 0.80], size=2)
    assert [fix.id for fix in rank.rank(results, task, cause_families={"stable_loss"})] == \
        ["lr-0.002", "clipping-1", "stable_loss-builtin"]


# -- the sweep ------------------------------------------------------------------------------------------


def test_find_fixes_halves_the_candidates_and_reports_progress():
    setup = sgd_fifty()
    settings = Settings(seeds=3, steps=150, families=["lr", "clipping"])
    baseline, found = diagnose(setup, settings)
    events = []
    results = sweep.find_fixes(setup, baseline, found, settings, Deadline(120), events.append)
    started = [e for e in events if e["event"] == "candidate"]
    done = [e for e in events if e["event"] == "candidate_done"]
    assert [e["index"] for e in started] == list(range(len(started)))
    assert all(e["total"] == len(started) and e["id"] and e["title"] for e in started)
    assert sorted(e["id"] for e in done) == sorted(e["id"] for e in started) == sorted(r.id for r in results)
    for result in results:
        assert result.seeds == 3 and result.outcome in ("cures", "improves", "fails")
        if result.probe.runs[0].outcome is Outcome.DIVERGED:
            assert len(result.probe.runs) == 1  # dropped after the first seed
            assert "stopped after 1 of 3 seeds" in result.note
    assert results[0].outcome == "cures" and len(results[0].probe.runs) == 3
    cost = [e for e in events if e["event"] == "sweep_cost"][0]
    assert cost["candidates"] == len(results) and cost["probe_s"] > 0


def test_hiding_the_nan_is_not_a_cure():
    """Clipping keeps a linear N(0,1) network finite at SGD 3.0, but it learns nothing."""
    rng = np.random.default_rng(0)
    prototypes = rng.uniform(0, 1, size=(10, 64))
    ids = rng.integers(0, 10, 512)
    x = np.clip(prototypes[ids] + rng.normal(0, 0.25, size=(512, 64)), 0, 1).astype("float32")
    init = keras.initializers.RandomNormal(stddev=1.0)
    model = keras.Sequential([keras.Input((64,)),
                              keras.layers.Dense(30, kernel_initializer=init, bias_initializer=init),
                              keras.layers.Dense(10, kernel_initializer=init, bias_initializer=init)])
    setup = make_setup(model, keras.optimizers.SGD(3.0), "mean_squared_error", x, np.eye(10)[ids],
                       batch_size=10)
    settings = Settings(seeds=3, steps=150, families=["clipping"])
    baseline, found = diagnose(setup, settings)
    assert baseline.seeds_ok == 0
    results = sweep.find_fixes(setup, baseline, found, settings, Deadline(120), None)
    clipnorm = next(r for r in results if r.id == "clipnorm-1")
    assert clipnorm.outcome == "fails"
    assert clipnorm.note.startswith("no NaN, but nothing learned: loss ")
    assert "accuracy at chance" in clipnorm.note


def test_a_data_problem_gets_no_cure_from_a_non_data_fix():
    setup = sgd_fifty()
    settings = Settings(seeds=3, steps=150, families=["lr"], max_fixes=2)
    baseline, found = diagnose(setup, settings)
    results = sweep.find_fixes(setup, baseline, found + [data_finding()], settings, Deadline(120), None)
    assert results and all(fix.outcome != "cures" for fix in results)
    healthy = [fix for fix in results if fix.seeds_ok == 3]
    assert healthy, "a lower rate trains this model; the data finding must still keep it from curing"
    assert all(fix.outcome == "improves" and "only a data fix can cure" in fix.note for fix in healthy)
    assert "3 of 512 targets are NaN" in healthy[0].note


def test_two_causes_are_cured_by_a_combination():
    """Softmax on one unit and raw 0..255 inputs: neither change alone is enough."""
    x, ids = pixels(n=512, features=32, classes=2, noise=70.0)
    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1, activation="softmax")])
    setup = make_setup(model, keras.optimizers.SGD(0.1), "binary_crossentropy", x,
                       ids.astype("float32").reshape(-1, 1))
    settings = Settings(seeds=3, steps=150, families=["pairing", "input_scaling"])
    baseline, found = diagnose(setup, settings)
    results = sweep.find_fixes(setup, baseline, found, settings, Deadline(120), None)
    singles = [fix for fix in results if "+" not in fix.id]
    assert singles and all(fix.outcome != "cures" for fix in singles)
    best = results[0]
    assert "+" in best.id and best.outcome == "cures" and best.rank == 1
    assert {"pairing", "input_scaling"} == set(best.family.split("+"))
    assert best.size == 2 and len(best.changes) == 2


def test_the_deadline_stops_the_sweep_and_keeps_what_was_measured():
    setup = sgd_fifty()
    settings = Settings(seeds=3, steps=150, families=["lr", "clipping"])
    baseline, found = diagnose(setup, settings)
    deadline = Deadline(None)

    def emit(event):  # the time runs out as soon as the first candidate is done
        if event["event"] == "candidate_done":
            deadline.end = time.monotonic() - 1.0

    results = sweep.find_fixes(setup, baseline, found, settings, deadline, emit)
    assert 1 <= len(results) < len(FAMILIES["lr"].fixes(setup, found)) + 3
    assert all(fix.probe.runs for fix in results)


def test_a_small_step_budget_cuts_the_plan_and_the_report_says_so():
    setup = sgd_fifty()
    settings = Settings(seeds=3, steps=150, families=["lr", "clipping"], sweep_steps=600)
    baseline, found = diagnose(setup, settings)
    events, spent = [], {}
    results = sweep.find_fixes(setup, baseline, found, settings, Deadline(120), events.append,
                               sweep_report=spent)
    assert len(results) == budget.MIN_CANDIDATES
    assert any(e["event"] == "phase" and e["phase"].startswith("budget: 6 of 9 planned fixes tried")
               for e in events)
    verified = [fix for fix in results if len(fix.probe.runs) == 3]
    assert len(verified) == 1 and verified[0].rank == 1 and verified[0].outcome == "cures"
    assert all("the budget went to better candidates" in fix.note
               for fix in results if fix.outcome == "improves")
    assert spent["steps"] == 600 and spent["tried"] == 6 and len(spent["not_tried"]) == 3
    per_candidate = budget.Budget.for_sweep(setup, settings).step_seconds
    overhead = int(budget.CANDIDATE_OVERHEAD_S / per_candidate) * 6  # building and tracing six
    assert spent["complete"] and spent["spent"] == overhead + sum(run.steps_run for fix in results
                                                                  for run in fix.probe.runs)


def test_verification_stops_once_a_confirmed_cure_cannot_be_overtaken():
    """With budget for every survivor, the ones still waiting when a cure is confirmed on every
    seed, and measured no better than it, are not verified: reported as such, never as cures."""
    setup = sgd_fifty()
    settings = Settings(seeds=3, steps=150, families=["lr", "clipping"], sweep_steps=20000)
    baseline, found = diagnose(setup, settings)
    results = sweep.find_fixes(setup, baseline, found, settings, Deadline(300), None)
    top = results[0]
    assert top.outcome == "cures" and len(top.probe.runs) == 3
    outranked = [fix for fix in results if "a cure confirmed on every seed ranks above it" in fix.note]
    assert outranked and all(fix.outcome == "improves" and len(fix.probe.runs) == 1 for fix in outranked)
    assert all(fix.rank > top.rank for fix in outranked)


def test_stacked_seeds_give_the_sweep_its_one_seed_at_a_time_answer():
    """With --stack-seeds the baseline's seeds and each verified candidate's remaining seeds
    train in one compiled step; every outcome and the ranking stay the same."""
    setup = sgd_fifty()
    answers = []
    for stacked in (False, True):
        settings = Settings(seeds=3, steps=150, families=["lr", "clipping"], sweep_steps=1500,
                            stack_seeds=stacked)
        baseline, found = diagnose(setup, settings)
        results = sweep.find_fixes(setup, baseline, found, settings, Deadline(300), None)
        # the baseline as the session probes it: stacked when asked
        probed = probe_seeds(setup, build_trainer(setup), "baseline", settings, Deadline(None))
        answers.append(([(run.seed, run.outcome, run.steps_run, run.first_nonfinite.layer)
                         for run in probed.runs],
                        [(fix.id, fix.outcome, fix.seeds_ok, [(run.seed, run.outcome, run.steps_run)
                                                             for run in fix.probe.runs])
                         for fix in results]))
    assert answers[1] == answers[0]
    assert all(outcome.value == "diverged" for _, outcome, _, _ in answers[1][0])
    assert any(len(fix[3]) == 3 for fix in answers[1][1])  # a candidate verified, stacked


def test_a_runner_that_trains_four_at_once_gets_the_same_report():
    """A runner with several workers (Ray's) is handed candidates in batches and runs past
    the budget's cut; the halving reads the results in plan order, so the candidates, the
    outcomes, the ranking and the budget's account are the one-at-a-time sweep's."""
    from nanfix.sweep.runner import Runner

    class Wide(Runner):
        width = 4

        def __init__(self):
            self.batches = []

        def run(self, requests, settings, deadline):
            self.batches.append([(r.candidate.fix.id, tuple(r.seeds)) for r in requests])
            super().run(requests, settings, deadline)

    setup = sgd_fifty()
    settings = Settings(seeds=3, steps=150, families=["lr", "clipping"], sweep_steps=600)
    baseline, found = diagnose(setup, settings)
    answers, wide = [], Wide()
    for factory in (None, lambda settings, findings: wide):
        spent = {}
        results = sweep.find_fixes(setup, baseline, found, settings, Deadline(300), None,
                                   sweep_report=spent, runners=factory)
        answers.append(([(fix.id, fix.outcome, fix.seeds_ok, len(fix.probe.runs),
                          [run.final_loss for run in fix.probe.runs]) for fix in results],
                        {k: v for k, v in spent.items() if k not in ("executor", "workers")}))
    assert answers[1] == answers[0]
    assert len(answers[0][0]) == budget.MIN_CANDIDATES
    # the second batch ran two candidates past the cut at six; they are in no report
    assert [len(batch) for batch in wide.batches[:2]] == [4, 4]
    assert answers[1][1]["not_tried"] == [fix_id for fix_id, _ in wide.batches[1][2:]] + \
        answers[1][1]["not_tried"][2:]


def test_the_budget_follows_the_model_not_the_clock(monkeypatch):
    monkeypatch.setattr(budget, "REFERENCE_SECONDS", 20.0)  # nanfix's own default
    small = sgd_fifty()
    x, ids = blobs()
    wide = keras.Sequential([keras.Input((20,)), keras.layers.Dense(2048, activation="relu"),
                             keras.layers.Dense(2048, activation="relu"),
                             keras.layers.Dense(4, activation="softmax")])
    heavy = make_setup(wide, keras.optimizers.SGD(50.0), "categorical_crossentropy", x, np.eye(4)[ids])
    settings = Settings(seeds=3, steps=150)
    light, costly = budget.Budget.for_sweep(small, settings), budget.Budget.for_sweep(heavy, settings)
    assert budget.step_flops(wide, 32) == pytest.approx(6 * 32 * (20 * 2048 + 2048 + 2048 * 2048 + 2048 + 2048 * 4 + 4))
    assert light.total > 10 * costly.total > 0  # a heavier model gets fewer probed steps
    assert budget.Budget.for_sweep(small, settings).total == light.total  # the same, every time
    assert budget.Budget.for_sweep(small, Settings(sweep_steps=900)).total == 900


def test_a_busy_machine_gets_the_same_ranked_fixes():
    """Two CPU-bound processes compete for the cores during the second sweep: the answer must
    depend on the seeds and the settings only."""
    setup = sgd_fifty()
    settings = Settings(seeds=2, steps=100, families=["lr", "clipping"], sweep_steps=1200)
    baseline, found = diagnose(setup, settings)

    def answer():
        results = sweep.find_fixes(setup, baseline, found, settings, Deadline(300), None)
        return [(fix.id, fix.outcome, fix.seeds_ok, len(fix.probe.runs)) for fix in results]

    idle = answer()
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        busy = answer()
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert busy == idle and idle[0][1] == "cures"


# -- one axis -------------------------------------------------------------------------------------------


def test_default_lr_grid_is_log_spaced_around_the_scripts_rate():
    setup = sgd_fifty()
    grid = axis.default_grid("lr", setup)
    assert grid[0] == pytest.approx(0.005) and grid[-1] == pytest.approx(500.0)
    assert 50.0 in grid and len(grid) == 11
    ratios = [b / a for a, b in zip(grid, grid[1:], strict=False)]
    assert all(2.9 < ratio < 3.4 for ratio in ratios)  # half decades: x3, x3.33, ...


def test_sweep_axis_lr_finds_the_stable_range():
    setup = sgd_fifty()
    settings = Settings(seeds=2, steps=120)
    optimizer = setup.model.optimizer
    events = []
    table = axis.sweep_axis(setup, "lr", [50.0, 5.0, 0.5, 0.05], settings, Deadline(120), events.append)
    # a trainer built before the sweep still finds the model compiled as it left it
    assert setup.model.optimizer is optimizer and setup.model.loss == "categorical_crossentropy"
    assert table["axis"] == "lr" and [row["value"] for row in table["values"]] == [50.0, 5.0, 0.5, 0.05]
    outcome = {row["value"]: row["outcome"] for row in table["values"]}
    assert outcome[50.0] == "diverges" and outcome[0.5] == "healthy"
    assert all({"value", "outcome", "seeds_ok", "seeds", "final_loss", "val_accuracy"} <= set(row)
               for row in table["values"])
    assert "stable for learning_rate ≤" in table["stable_range"]
    assert table["best"] in (0.5, 0.05)
    assert len([e for e in events if e["event"] == "candidate"]) == 4


def test_sweep_axis_scale_compares_the_input_scalings():
    x, ids = pixels(n=256, features=32, classes=4, noise=60.0)
    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(4, activation="softmax")])
    setup = make_setup(model, keras.optimizers.SGD(0.1), "categorical_crossentropy", x, np.eye(4)[ids])
    table = axis.sweep_axis(setup, "scale", None, Settings(seeds=1, steps=100), Deadline(120), None)
    outcome = {row["value"]: row["outcome"] for row in table["values"]}
    assert outcome["none"] != "healthy" and outcome["divide-255"] == "healthy"
    assert table["stable_range"].startswith("healthy with: ")
    with pytest.raises(ValueError, match="unknown sweep axis"):
        axis.sweep_axis(setup, "momentum", None, Settings(seeds=1, steps=10), Deadline(1), None)


# -- the diff ---------------------------------------------------------------------------------------------

SCRIPT = '''\
import os

import keras
import numpy as np

EPOCHS = int(os.environ.get("EPOCHS", "20"))

rng = np.random.default_rng(0)
prototypes = rng.uniform(0, 255, size=(10, 64))
labels = rng.integers(0, 10, 512)
x_train = np.clip(prototypes[labels] + rng.normal(0, 70, size=(512, 64)), 0, 255).round()
y_train = keras.utils.to_categorical(labels, 10)

model = keras.Sequential([
    keras.Input((64,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(10, activation='sigmoid'),
])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="categorical_crossentropy")
history = model.fit(x_train, y_train, batch_size=32, epochs=EPOCHS, verbose=0)
print("final loss:", history.history["loss"][-1])
'''


def line_of(source: str, needle: str) -> str:
    number = next(i for i, line in enumerate(source.splitlines(), start=1) if needle in line)
    return f"train.py:{number}"


def load_script(path, source=SCRIPT):
    """Run the script up to fit, as the capture does, with the origins the hooks would record."""
    namespace: dict = {}
    prefix = source[:source.index("history = model.fit")]
    exec(compile(prefix, str(path), "exec"), namespace)  # noqa: S102 - our own test script
    model = namespace["model"]
    remember(model.layers[0], "_nanfix_origin", line_of(source, "Dense(32"))
    remember(model.layers[1], "_nanfix_origin", line_of(source, "Dense(10"))
    origins = {"optimizer": line_of(source, "SGD("), "compile": line_of(source, "model.compile("),
               "fit": line_of(source, "model.fit(")}
    captured = Capture(script=str(path), model=model, compile_args={}, fit_args={}, origins=origins)
    data = TrainingData(x=namespace["x_train"], y=namespace["y_train"], sample_weight=None, batch_size=32)
    loss = "categorical_crossentropy"
    setup = from_capture(model, model.optimizer, loss, data, task_module.infer(model, loss, data.y))
    return setup, captured


def run_script(path, epochs=3) -> str:
    env = dict(os.environ, EPOCHS=str(epochs), TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.run([sys.executable, str(path)], env=env, capture_output=True, text=True,
                             timeout=180, cwd=str(path.parent))
    assert process.returncode == 0, process.stderr[-3000:]
    return process.stdout


def test_the_winning_diff_applies_and_the_patched_script_trains_without_nan(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    setup, captured = load_script(script)
    settings = Settings(seeds=3, steps=150, families=["input_scaling", "lr"])
    baseline, found = diagnose(setup, settings)
    assert baseline.seeds_ok == 0
    results = sweep.find_fixes(setup, baseline, found, settings, Deadline(120), None, capture=captured)
    best = results[0]
    assert best.id == "inputs-divide-255" and best.outcome == "cures"
    assert best.diff.startswith("--- train.py\n+++ train.py (nanfix: inputs-divide-255)\n")
    # a Sequential model divides by 255 itself: its first layer (evaluate and predict get it too)
    assert "+    keras.layers.Rescaling(1 / 255),\n" in best.diff
    assert "keras.layers.Rescaling(1 / 255)" in best.snippet
    patched = source_apply.apply_patch(str(script), best)
    assert patched == str(tmp_path / "train.nanfix.py")
    assert script.read_text() == SCRIPT  # never over the user's script
    new_source = open(patched).read()
    assert new_source.index("keras.layers.Rescaling(1 / 255)") < new_source.index("history = model.fit")
    output = run_script(tmp_path / "train.nanfix.py")
    loss = float(output.rsplit("final loss:", 1)[1])
    assert math.isfinite(loss) and loss < math.log(10)
    lowered = next(r for r in results if r.family == "lr" and r.diff)
    assert "-model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), " in lowered.diff


def test_diffs_edit_the_optimizer_the_loss_and_layers_in_the_users_own_style(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    setup, captured = load_script(script)
    fixes = {fix.id: fix for family in ("pairing", "lr", "optimizer", "clipping")
             for fix in FAMILIES[family].fixes(setup, [])}
    combined = combine.combine(fixes["output-logits"], fixes["lr-0.01"])
    diff, snippet = source_diff.render(list(combined.edits), combined.id, setup, captured)
    assert "+    keras.layers.Dense(10, activation='linear'),\n" in diff  # the user's quotes
    assert ("+model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), "
            "loss=keras.losses.CategoricalCrossentropy(from_logits=True))\n") in diff
    new_source = source_apply.apply_diff(SCRIPT, diff)
    ast.parse(new_source)
    assert new_source.count("\n") == SCRIPT.count("\n")  # nothing else moved
    swap, _ = source_diff.render(list(fixes["optimizer-adam"].edits), "optimizer-adam", setup, captured)
    assert "optimizer=keras.optimizers.Adam(learning_rate=0.001)" in swap
    clip, _ = source_diff.render(list(fixes["clipnorm-1"].edits), "clipnorm-1", setup, captured)
    assert "SGD(learning_rate=0.1, clipnorm=1.0)" in clip
    assert "model.compile(optimizer=optimizer, loss=keras.losses.CategoricalCrossentropy(from_logits=True)" in snippet


def test_diffs_for_the_batch_size_a_warm_up_and_loss_scaling(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    setup, captured = load_script(script)
    diverging = [Finding(code="N701", title="NaN", severity=Severity.ERROR, message="NaN")]
    batch = FAMILIES["batch_size"].fixes(setup, [], grid=[64])[0]
    warm = FAMILIES["schedule"].fixes(setup, diverging)[0]
    wrap = next(fix for fix in FAMILIES["precision"].fixes(half_setup(), []) if fix.id == "precision-loss-scale")
    for fix, needle in ((batch, "history = model.fit(x_train, y_train, batch_size=64, epochs=EPOCHS, verbose=0)"),
                        (warm, "SGD(learning_rate=keras.optimizers.schedules.PiecewiseConstantDecay("
                               "[50, 100], [0.001, 0.01, 0.1]))"),
                        (wrap, "optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(learning_rate=0.1))")):
        diff, _ = source_diff.render(list(fix.edits), fix.id, setup, captured)
        assert diff and needle in diff, (fix.id, diff)
        ast.parse(source_apply.apply_diff(SCRIPT, diff))


def half_setup():
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, activation="softmax", dtype="float16")])
    x, ids = pixels(n=64, features=64)
    return make_setup(model, keras.optimizers.SGD(0.1), "categorical_crossentropy", x, np.eye(10)[ids])


def test_a_call_that_makes_layers_that_must_differ_gets_a_snippet_not_a_diff(tmp_path):
    source = '''\
import keras


def dense(units):
    return keras.layers.Dense(units)


model = keras.Sequential([keras.Input((8,)), dense(16), dense(3)])
model.compile(optimizer="sgd", loss="categorical_crossentropy")
model.fit(x, y)
'''
    script = tmp_path / "train.py"
    script.write_text(source)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16), keras.layers.Dense(3)])
    for layer in model.layers:
        remember(layer, "_nanfix_origin", line_of(source, "return keras.layers.Dense"))
    x, ids = blobs(n=64, features=8, classes=3)
    setup = make_setup(model, keras.optimizers.SGD(0.1), "categorical_crossentropy", x, np.eye(3)[ids])
    captured = Capture(script=str(script), model=model, compile_args={}, fit_args={},
                       origins={"compile": line_of(source, "model.compile"),
                                "optimizer": line_of(source, "model.compile"),
                                "fit": line_of(source, "model.fit")})
    relu = next(fix for fix in FAMILIES["activation"].fixes(setup, []) if fix.id == "activation-relu")
    diff, snippet = source_diff.render(list(relu.edits), relu.id, setup, captured)
    assert diff is None
    assert 'Dense(..., activation="relu")' in snippet and 'activation="softmax"' in snippet
    # inputs that are not plain names are scaled where fit receives them
    scaling = '''\
x = load()
model.fit(x[:400], y[:400], validation_data=(x[400:], y[400:]), epochs=3)
'''
    (tmp_path / "inline.py").write_text(scaling)
    divide = next(fix for fix in FAMILIES["input_scaling"].fixes(pixel_setup(), []) if fix.id == "inputs-divide-255")
    diff, _ = source_diff.render(list(divide.edits), divide.id, setup,
                           Capture(script=str(tmp_path / "inline.py"), model=model, compile_args={},
                                   fit_args={}, origins={"fit": "inline.py:2"}))
    assert "+model.fit(x[:400] / 255.0, y[:400], validation_data=(x[400:] / 255.0, y[400:]), epochs=3)\n" in diff
    # the string optimizer becomes a constructor with the new rate
    lowered = FAMILIES["lr"].fixes(setup, [], [0.01])[0]
    diff, _ = source_diff.render(list(lowered.edits), lowered.id, setup, captured)
    assert 'optimizer=keras.optimizers.SGD(learning_rate=0.01)' in diff


def pixel_setup():
    """Raw pixels into a functional model: its inputs are scaled as data, before fit."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(64, 16)).astype("float32")
    given = keras.Input((16,))
    model = keras.Model(given, keras.layers.Dense(3, activation="softmax")(given))
    return make_setup(model, keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", x,
                      rng.integers(0, 3, 64))


def test_apply_patch_refuses_a_script_that_changed_since(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    setup, captured = load_script(script)
    fix = FAMILIES["lr"].fixes(setup, [], [0.01])[0]
    diff, _ = source_diff.render(list(fix.edits), fix.id, setup, captured)
    script.write_text(SCRIPT.replace("learning_rate=0.1", "learning_rate=0.2"))
    with pytest.raises(source_apply.PatchError):
        source_apply.apply_patch(str(script), diff)
    with pytest.raises(source_apply.PatchError):
        source_apply.apply_patch(str(script), FixResult(id="x", family="x", title="x", changes=[],
                                                 outcome="fails", seeds_ok=0, seeds=1))


DIFF = ("--- train.py\n+++ train.py (nanfix: lr-0.3)\n@@ -1 +1 @@\n"
        "-opt = SGD(learning_rate=3.0)\n+opt = SGD(learning_rate=0.3)\n")


def test_apply_patch_replaces_a_planted_link_and_never_writes_through_it(tmp_path):
    project, outside = tmp_path / "proj", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    victim = outside / "victim.py"
    victim.write_text("precious = True\n")
    script = project / "train.py"
    script.write_text("opt = SGD(learning_rate=3.0)\n")
    (project / "train.nanfix.py").symlink_to(victim)
    written = source_apply.apply_patch(str(script), DIFF)
    assert victim.read_text() == "precious = True\n"  # the link's target is untouched
    assert not os.path.islink(written) and open(written).read() == "opt = SGD(learning_rate=0.3)\n"
    assert script.read_text() == "opt = SGD(learning_rate=3.0)\n"


def test_apply_in_place_keeps_the_original_and_never_overwrites_an_older_backup(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("opt = SGD(learning_rate=3.0)\n")
    assert source_apply.apply_patch(str(script), DIFF, in_place=True) == str(script)
    assert script.read_text() == "opt = SGD(learning_rate=0.3)\n"
    assert (tmp_path / "train.py.orig").read_text() == "opt = SGD(learning_rate=3.0)\n"
    script.write_text("opt = SGD(learning_rate=3.0)\n")
    with pytest.raises(source_apply.PatchError, match="train.py.orig exists"):
        source_apply.apply_patch(str(script), DIFF, in_place=True)
    assert script.read_text() == "opt = SGD(learning_rate=3.0)\n"
