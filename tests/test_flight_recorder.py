"""Failures that come late: the flight recorder in the user's own fit, and probes resumed from it.

The recorder tests train real small models in this process; the resumed probes run the real
CLI. The end-to-end test is seed003's whole path: the long run with the recorder on, its
record, and `nanfix probe --from` naming Adam's epsilon and ranking a measured epsilon cure first.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import cli_env, run_cli  # noqa: E402

from nanfix.capture import record
from nanfix.config import Thresholds
from nanfix.keras import NanGuard, NonFiniteTrainingError
from nanfix.probes.judge import late_jump, learned
from nanfix.records import SeedRun, Signals
from nanfix.report.captured import resumed_line

ROOT = Path(__file__).resolve().parents[1]
LONG_RUN = ROOT / "recipes" / "seed003_adam_epsilon" / "long_run.py"
HEADING = ROOT / "tests" / "scripts" / "late" / "heading.py"


def quiet(**arguments) -> NanGuard:
    printed: list[str] = []
    guard = NanGuard(printer=printed.append, script="train.py", **arguments)
    guard.printed = printed
    return guard


def exploding_fit(callbacks, seed=0, epochs=5):
    """Inputs x10 and SGD at 0.1: the loss overflows to NaN after a few steps."""
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(256, 8)).astype("float32") * 10
    y = (x @ rng.normal(size=(8, 1))).astype("float32")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(x, y, batch_size=32, epochs=epochs, verbose=0, callbacks=callbacks)
    return model


class Kick(keras.callbacks.Callback):
    """Adds large noise to every weight after global step `step`: a converged loss jumps."""

    def __init__(self, step: int):
        super().__init__()
        self.step, self.seen = step, 0

    def on_train_batch_end(self, batch, logs=None):
        if self.seen == self.step:
            rng = np.random.default_rng(1)
            for variable in self.model.trainable_variables:
                value = keras.ops.convert_to_numpy(variable)
                variable.assign(value + rng.normal(0, 3.0, value.shape).astype(value.dtype))
        self.seen += 1


def linear_fit(callbacks, epochs=30):
    """An exact linear target: Adam drives the loss from ~10 to ~1e-6 within a few hundred steps."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5], [3.0]])).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.05), "mse")
    history = model.fit(x, y, batch_size=32, epochs=epochs, verbose=0, callbacks=callbacks)
    return model, history


# -- the recorder -----------------------------------------------------------------------------

def test_a_nan_writes_the_last_good_state_its_batches_and_a_valid_manifest(tmp_path):
    target = tmp_path / "record"
    guard = quiet(record=target, record_every=2)
    model = exploding_fit([guard])
    diagnosis = guard.diagnosis
    assert diagnosis is not None and diagnosis.codes[0] == "N701"
    assert diagnosis.record == str(target)
    assert f"--from {target}" in guard.printed[-1]

    manifest = record.read_manifest(str(target))
    assert manifest.trigger["kind"] == record.NONFINITE_LOSS
    assert manifest.trigger["step"] == diagnosis.step
    assert 0 <= manifest.step <= diagnosis.step  # taken before the failure
    assert [tuple(shape) for _, shape in manifest.weight_shapes] == [tuple(v.shape) for v in model.weights]
    with np.load(target / record.STATE) as state:
        weights = [state[f"weight_{i}"] for i in range(len(model.weights))]
        optimizer = [state[f"optimizer_{i}"] for i in range(len(manifest.data["optimizer"]["variables"]))]
    assert all(np.isfinite(w).all() for w in weights)
    # the model itself is left as it failed: the record is not what the model holds now
    assert not all(np.isfinite(keras.ops.convert_to_numpy(v)).all() for v in model.weights)
    names = [name for name, _ in manifest.data["optimizer"]["variables"]]
    assert int(optimizer[names.index("iteration")]) == manifest.step

    batches = manifest.data["batches"]
    assert batches["file"] == record.BATCHES and batches["steps"][-1] == diagnosis.step
    with np.load(target / record.BATCHES) as kept:
        assert kept["batch_0_0"].shape == (32, 8) and kept["batch_0_1"].shape == (32, 1)
    history = json.loads((target / record.HISTORY).read_text())
    assert len(history["loss"]) == diagnosis.step + 1

    loaded = keras.saving.load_model(target / record.MODEL)
    assert int(loaded.optimizer.iterations.numpy()) == manifest.step
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.weights[0]), weights[0])


def test_a_late_jump_without_nan_stops_training_and_records_the_state_before_it(tmp_path):
    target = tmp_path / "jump"
    guard = quiet(record=target, record_every=10)
    model, history = linear_fit([Kick(step=200), guard], epochs=60)
    diagnosis = guard.diagnosis
    assert diagnosis is not None and diagnosis.codes == ["N707"]
    assert 200 < diagnosis.step < 210  # within the averaging window of the kick
    assert len(history.history["loss"]) < 60  # it stopped
    manifest = record.read_manifest(str(target))
    assert manifest.trigger["kind"] == record.LOSS_SPIKE
    assert manifest.trigger["best_loss"] < 1e-2 * manifest.trigger["first_loss"]
    assert manifest.step <= 200 and manifest.data["state"]["loss"] < 1e-2 * manifest.trigger["first_loss"]
    assert "jumped" in guard.printed[0] and "N707" in guard.printed[0]


def test_healthy_runs_do_not_fire_and_raise_mode_still_raises(tmp_path):
    quiet_guard = quiet(record=tmp_path / "never")
    linear_fit([quiet_guard], epochs=40)  # converges toward 0 and stays there
    assert quiet_guard.diagnosis is None and not (tmp_path / "never").exists()

    raising = quiet(action="raise", record=tmp_path / "raised")
    with pytest.raises(NonFiniteTrainingError) as caught:
        exploding_fit([raising])
    assert caught.value.diagnosis.record == str(tmp_path / "raised")
    assert record.read_manifest(str(tmp_path / "raised")).trigger["code"] == "N701"


def test_a_damaged_or_foreign_record_says_what_is_wrong(tmp_path):
    with pytest.raises(record.RecordError, match="no manifest.json"):
        record.read_manifest(str(tmp_path))
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(record.RecordError, match="cannot be read as JSON"):
        record.read_manifest(str(tmp_path))
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(record.RecordError, match="not a nanfix flight record"):
        record.read_manifest(str(tmp_path))
    (tmp_path / "manifest.json").write_text(json.dumps({"format": record.FORMAT, "version": 99}))
    with pytest.raises(record.RecordError, match="version 99"):
        record.read_manifest(str(tmp_path))
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"format": record.FORMAT, "version": 1, "state": {"step": 3}, "model": {"weights": []}}))
    with pytest.raises(record.RecordError, match="no state.npz"):
        record.read_manifest(str(tmp_path))
    weights = tmp_path / "x.weights.h5"
    weights.write_bytes(b"")
    with pytest.raises(record.RecordError, match="no\\s+optimizer state"):
        record.describe_source(str(weights))


# -- judging a late jump and a resumed seed -------------------------------------------------

def test_late_jump_needs_convergence_first_and_a_real_rise():
    limits = Thresholds()
    assert late_jump(recent=0.07, best=1e-9, first=0.69, thresholds=limits)
    assert not late_jump(recent=1e-6, best=1e-9, first=0.69, thresholds=limits)  # noise near zero
    assert not late_jump(recent=0.5, best=0.1, first=0.69, thresholds=limits)  # never converged
    assert not late_jump(recent=0.9, best=1e-4, first=0.69, thresholds=Thresholds(late_jump_factor=1e5))


def test_a_resumed_seed_must_keep_what_the_recorded_run_learned():
    limits = Thresholds()
    kept = SeedRun(seed=0, outcome=None, steps_run=100, start_loss=1e-9, final_loss=1e-7,
                   signals=Signals(fresh_loss=0.69))
    lost = SeedRun(seed=0, outcome=None, steps_run=100, start_loss=1e-9, final_loss=0.5,
                   signals=Signals(fresh_loss=0.69))
    assert learned(kept, None, limits)[0]
    assert not learned(lost, None, limits)[0]  # below the fresh loss, but most of the fall is gone


def test_the_resumed_line_reads_for_a_record_its_start_and_a_checkpoint():
    assert resumed_line({"kind": "record", "step": 650, "optimizer": "Adam", "optimizer_steps": 650,
                         "trigger": {"kind": "loss_spike", "step": 661, "code": "N707"}}).startswith(
        "Resumed from step 650 of the recorded run (the loss jumped at step 661, N707) · Adam at its step 650")
    assert resumed_line({"kind": "record", "step": 0}).startswith("Resumed from the start of the recorded fit")
    assert resumed_line({"kind": "checkpoint", "step": None, "from": "/x/m.keras"}).startswith(
        "Resumed from the checkpoint /x/m.keras")


# -- resumed probes through the command line -----------------------------------------------

def cli(*args, cwd=None, timeout=420) -> subprocess.CompletedProcess:
    return run_cli(list(args), cwd=cwd, timeout=timeout)


def test_from_refuses_what_it_cannot_resume_from_before_running_anything(tmp_path, script_dir):
    missing = cli("probe", script_dir / "healthy.py", "--from", tmp_path / "nothing")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    empty = cli("check", script_dir / "healthy.py", "--from", tmp_path)
    assert empty.returncode == 2 and "not a flight record" in empty.stderr
    assert "Traceback" not in missing.stderr + empty.stderr


def test_a_record_of_another_model_is_a_usage_error(tmp_path, script_dir):
    exploding_fit([quiet(record=tmp_path / "other")])
    result = cli("check", script_dir / "healthy.py", "--from", tmp_path / "other", "--format", "json")
    assert result.returncode == 2, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["error"]["type"] == "usage"
    assert "recorded from another model" in report["error"]["message"]


EXPLODING_SCRIPT = """\
import keras
import numpy as np

rng = np.random.default_rng(0)
x = rng.normal(size=(256, 8)).astype("float32") * 10
y = (x @ rng.normal(size=(8, 1))).astype("float32")
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
model.compile(keras.optimizers.SGD(0.1), "mse")
model.fit(x, y, batch_size=32, epochs=5, verbose=0)
print("script done")
"""


def test_nanfix_record_runs_the_whole_unmodified_script_with_the_recorder(tmp_path, script_dir):
    script = tmp_path / "explode.py"
    script.write_text(EXPLODING_SCRIPT)
    before = script.read_text()
    failed = cli("record", script, "--to", tmp_path / "rec", "--every", "2", cwd=tmp_path)
    assert failed.returncode == 1, failed.stderr[-2000:]
    assert "script done" in failed.stdout  # its own output, its whole run
    assert "--from" in " ".join(failed.stderr.split())
    manifest = record.read_manifest(str(tmp_path / "rec"))
    assert manifest.trigger["code"] == "N701" and script.read_text() == before

    fine = cli("record", script_dir / "healthy.py", "--to", tmp_path / "none", cwd=tmp_path)
    assert fine.returncode == 0 and "nothing was recorded" in fine.stderr
    assert not (tmp_path / "none" / record.MANIFEST).exists()


@pytest.mark.xdist_group("seed003-late")
def test_fresh_probe_warns_when_adam_heads_for_its_late_jump(tmp_path):
    result = cli("probe", HEADING, "--no-fixes", "--format", "json", cwd=tmp_path)
    report = json.loads(result.stdout)
    found = {item["code"]: item for item in report["findings"]}
    assert report["verdict"] == "healthy"
    assert "N708" in found, [item["code"] for item in report["findings"]]
    evidence = found["N708"]["evidence"]
    assert evidence["rate"] < 1 and evidence["steps_to_epsilon"] <= 1600
    assert "epsilon" in found["N708"]["fix_families"]


@pytest.mark.xdist_group("seed003-late")
def test_seed003_from_its_recorded_jump_to_a_measured_epsilon_cure(tmp_path, validate_report):
    """The page's failure, brought forward: the long run records its jump, and the probe
    resumed from the record reproduces it, names Adam's epsilon and ranks an epsilon cure first."""
    target = tmp_path / "flight"
    run = subprocess.run([sys.executable, LONG_RUN, "--record", target], cwd=tmp_path, env=cli_env(),
                         capture_output=True, text=True, timeout=300)
    assert "N707" in run.stderr and f"--from {target}" in run.stderr, run.stderr[-3000:]
    manifest = record.read_manifest(str(target))
    assert manifest.trigger["kind"] == record.LOSS_SPIKE and manifest.step > 300

    result = cli("probe", LONG_RUN, "--from", target, "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-3000:]
    report = json.loads(result.stdout)
    validate_report(report)
    assert report["resume"]["kind"] == "record" and report["resume"]["step"] == manifest.step
    assert report["verdict"] == "diverges"
    assert all(seed["outcome"] == "diverged" and seed["signals"].get("late_jump")
               for seed in report["baseline"]["runs"])
    found = {item["code"]: item for item in report["findings"]}
    assert found["N707"]["severity"] == "error"
    adam = found["N706"]
    assert adam["severity"] == "error"
    assert adam["evidence"]["median_sqrt_v"] <= 100 * adam["evidence"]["epsilon"]
    assert "update_to_weight" in adam["evidence"] and "fraction_near_epsilon" in adam["evidence"]
    top = report["fixes"][0]
    assert top["family"] == "epsilon" and top["outcome"] == "cures" and top["seeds_ok"] == top["seeds"] == 3
    assert report["likely_cause"]["code"] == "N706"
    assert report["likely_cause"]["confirmed_by"] == top["id"]

    table = cli("check", LONG_RUN, "--from", target / record.MODEL, cwd=tmp_path)
    assert table.returncode == 1, table.stderr[-3000:]
    assert "Resumed from the checkpoint" in table.stdout and "DIVERGES" in table.stdout
