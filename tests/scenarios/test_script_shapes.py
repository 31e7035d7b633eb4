"""Real script shapes, as people write them: each probed by the real CLI, asserting the
verdict and that what was probed is what the script trains (its class, its own train_step,
its outputs, its data pipeline, the settings its command line gave).

The probes are independent worker processes, so they run two at a time, once per session.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_cli_probe import nanfix

# its fixtures probe once (session scope: a module fixture would be set up again whenever
# xdist runs another module's test in between) and one xdist worker runs the whole module
pytestmark = pytest.mark.xdist_group("test_script_shapes")

SHAPES = Path(__file__).parent.parent / "scripts" / "shapes"
QUICK = ["--seeds", "1", "--no-progress", "--format", "json"]  # what is probed, not how often
FEW = ["--steps", "100", "--no-fixes"]

# name: (script, extra nanfix options, the script's own arguments)
RUNS = {
    "subclassed": ("subclassed.py", FEW, []),
    "train_step": ("train_step.py", FEW, []),
    "train_step_negated": ("train_step.py", ["--steps", "100"], ["--negate"]),  # fixes on: none swept
    "multi_input": ("multi_input.py", FEW, []),
    "multi_output": ("multi_output.py", FEW, []),
    "multi_output_bad_head": ("multi_output.py", FEW, ["--bad-head"]),
    "tf_data": ("tf_data.py", FEW, []),
    "generator": ("generator.py", FEW, []),
    "pydataset": ("pydataset.py", FEW, []),
    "two_fits": ("two_fits.py", ["--no-fixes"], []),  # steps: as many as its own fit
    "main_guard": ("main_guard.py", FEW, []),
    "argparse": ("with_argparse.py", FEW, ["--lr", "0.003", "--batch-size", "16"]),
    "mixed_precision": ("mixed_precision.py", FEW, []),
    "batchnorm_dropout": ("batchnorm_dropout.py", FEW, []),
    "embedding_lstm": ("embedding_lstm.py", FEW, []),
    "early_stopping": ("early_stopping.py", FEW, []),
}


def _probe(name: str) -> tuple[int, dict]:
    script, options, argv = RUNS[name]
    result = nanfix("probe", str(SHAPES / script), *QUICK, *options, *(["--", *argv] if argv else []),
                    timeout=300)
    return result.returncode, json.loads(result.stdout)


@pytest.fixture(scope="session")
def reports() -> dict[str, tuple[int, dict]]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(RUNS, pool.map(_probe, RUNS), strict=True))


def codes(report: dict) -> set[str]:
    return {finding["code"] for finding in report["findings"]}


HEALTHY = ["subclassed", "train_step", "multi_input", "multi_output", "tf_data", "generator",
           "pydataset", "two_fits", "main_guard", "argparse", "mixed_precision",
           "batchnorm_dropout", "embedding_lstm", "early_stopping"]


@pytest.mark.parametrize("name", HEALTHY)
def test_an_ordinary_healthy_script_is_healthy(reports, name, validate_report):
    code, report = reports[name]
    validate_report(report)
    assert (code, report["verdict"]) == (0, "healthy"), (report["error"], report["findings"])
    assert not [f for f in report["findings"] if f["severity"] == "error"]


def test_the_subclassed_model_is_the_one_probed(reports):
    _, report = reports["subclassed"]
    assert report["capture"]["model"]["class"] == "Net"


def test_the_scripts_own_train_step_is_what_is_probed(reports):
    _, report = reports["train_step"]
    assert report["capture"]["model"]["train_step"] == "Stepper.train_step"
    assert "O503" not in codes(report)


def test_a_train_step_that_climbs_the_loss_is_named_and_not_swept(reports):
    code, report = reports["train_step_negated"]
    assert code == 1 and report["verdict"] != "healthy"
    climbs = next(f for f in report["findings"] if f["code"] == "O503")
    assert climbs["where"] == "train_step.py:13"  # the def of its train_step
    assert climbs["evidence"]["cosine"] < -0.9  # an exact sign flip
    assert report["likely_cause"]["code"] == "O503"
    assert report["fixes"] == []  # no setting cures a step that climbs: it is mended by hand


def test_multi_input_data_reaches_both_inputs(reports):
    _, report = reports["multi_input"]
    assert set(report["capture"]["data"]["x_shape"]) == {"left", "right"}


def test_each_output_of_a_multi_output_model_has_its_task(reports):
    _, report = reports["multi_output"]
    task = report["capture"]["task"]
    heads = {head["name"]: head for head in task["outputs"]}
    assert heads["kind"]["kind"] == "multiclass" and heads["kind"]["classes"] == 3
    assert heads["size"]["kind"] == "regression"
    assert task["output"] == "kind"  # the accuracy tracked is the classifier's
    assert report["capture"]["loss"] == "kind=sparse_categorical_crossentropy, size=mse"
    assert report["baseline"]["runs"][0]["val_accuracy"] > 0.9


def test_a_finding_about_one_output_names_it(reports):
    _, report = reports["multi_output_bad_head"]
    scale = next(f for f in report["findings"] if f["code"] == "D105")
    assert scale["evidence"]["output"] == "size" and scale["message"].startswith("output 'size'")
    # the summed loss hides it, the head's own loss does not: it learned only the mean
    run = report["baseline"]["runs"][0]
    assert report["verdict"] == "stalls" and run["stall"] == "mean_only"
    assert run["reason"].startswith("output 'size': loss")


def test_a_learning_regression_head_beats_its_constant_guess(reports):
    _, report = reports["multi_output"]
    signals = report["baseline"]["runs"][0]["signals"]
    assert signals["end_eval"]["head_losses"]["size"] < 0.9 * signals["head_guess_losses"]["size"]


@pytest.mark.parametrize(("name", "source"), [("tf_data", "dataset"), ("generator", "generator"),
                                              ("pydataset", "pydataset")])
def test_data_pipelines_are_read_as_the_script_feeds_them(reports, name, source):
    _, report = reports[name]
    assert report["capture"]["data"]["source"] == source
    assert report["capture"]["data"]["batch_size"] == 32


def test_the_first_of_two_fits_is_probed_with_its_settings(reports):
    _, report = reports["two_fits"]
    assert report["capture"]["optimizer"]["learning_rate"] == pytest.approx(1e-2)
    # its first fit is one epoch of 38 batches: the probe trains no longer than the floor
    assert report["capture"]["fit_steps"] == 38
    assert report["settings"]["steps"] == 100 == report["baseline"]["runs"][0]["steps_run"]


@pytest.mark.parametrize(("name", "steps"), [("tf_data", 30 * 4), ("pydataset", 38 * 4),
                                             ("generator", 30 * 4), ("multi_output", 38 * 5),
                                             ("early_stopping", 38 * 20)])
def test_the_steps_of_the_script_s_own_fit_are_read(reports, name, steps):
    _, report = reports[name]
    assert report["capture"]["fit_steps"] == steps


def test_settings_from_the_command_line_are_the_ones_probed(reports):
    _, report = reports["argparse"]
    assert report["argv"] == ["--lr", "0.003", "--batch-size", "16"]
    assert report["capture"]["optimizer"]["learning_rate"] == pytest.approx(3e-3)
    assert report["capture"]["data"]["batch_size"] == 16


def test_token_ids_are_not_taken_for_pixels(reports):
    _, report = reports["embedding_lstm"]
    assert not codes(report) & {"D103", "D104"}


def test_argparse_s_own_error_is_shown():
    result = nanfix("probe", str(SHAPES / "with_argparse.py"), "--no-progress")
    assert result.returncode == 3
    assert "the following arguments are required: --lr" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
