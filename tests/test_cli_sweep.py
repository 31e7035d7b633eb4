"""End-to-end tests of the fix sweep and the one-axis sweep through the real CLI: the plan
limits the families, explicit-entry scripts get their diff, `nanfix sweep --lr` maps the
stable range, and bad plans and grids are usage errors (exit 2) with one clear message.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPTS = Path(__file__).parent / "scripts"
ROOT = Path(__file__).parent.parent
QUICK = ["--seeds", "2", "--steps", "120", "--no-progress"]


def nanfix(*args: str, timeout: int = 240):
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "NO_COLOR": "1", "COLUMNS": "120"}
    return subprocess.run([sys.executable, "-m", "nanfix.cli", *args], capture_output=True, text=True,
                          env=environment, timeout=timeout)


def test_plan_limits_the_families_and_explicit_entry_gets_a_diff(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text("families: [lr]\ngrids:\n  lr: [0.3, 0.03]\n")
    output = tmp_path / "report.json"
    result = nanfix("probe", str(SCRIPTS / "explicit_diverges.py"), *QUICK, "--plan", str(plan),
                    "--format", "json", "-o", str(output))
    assert result.returncode == 1, result.stderr
    report = json.loads(output.read_text())
    assert report["verdict"] == "diverges"
    assert report["fixes"] and {fix["family"] for fix in report["fixes"]} == {"lr"}
    assert {fix["id"] for fix in report["fixes"]} <= {"lr-0.3", "lr-0.03"}
    top = report["fixes"][0]
    assert top["outcome"] == "cures" and top["seeds_ok"] == top["seeds"] == 2
    # build_model() has no captured fit, but the optimizer line is known: a real diff
    assert top["diff"] and "explicit_diverges.py" in top["diff"]
    assert "-    model.compile(optimizer=keras.optimizers.SGD(learning_rate=30.0)," in top["diff"]


@pytest.mark.parametrize("text, message", [
    ("families: [learning_rate]\n", "unknown fix family learning_rate"),
    ("famlies: [lr]\n", "unknown key 'famlies'"),
    ("grids:\n  lr: [fast]\n", "grids.lr must be a list of numbers"),
])
def test_a_bad_plan_is_a_usage_error(tmp_path, text, message):
    plan = tmp_path / "plan.yaml"
    plan.write_text(text)
    result = nanfix("probe", str(SCRIPTS / "explicit_diverges.py"), "--plan", str(plan))
    assert result.returncode == 2
    assert message in " ".join(result.stderr.split()) and "Traceback" not in result.stderr


def test_sweep_lr_on_seed002_shows_the_stable_range(tmp_path):
    output = tmp_path / "sweep.json"
    result = nanfix("sweep", str(ROOT / "recipes/seed002_linear_mnist/train.py"), "--lr", "3,0.3,0.003,0.0003",
                    "--seeds", "2", "--steps", "150", "--no-progress", "--format", "json", "--out", str(output))
    assert result.returncode == 1, result.stderr  # the script as written diverges
    sweep = json.loads(output.read_text())["sweep"]
    assert sweep["axis"] == "lr"
    outcomes = {row["value"]: row["outcome"] for row in sweep["values"]}
    assert outcomes[3.0] == "diverges"  # the script's own rate
    assert outcomes[0.0003] != "diverges"  # N(0,1) weights and linear layers: only this small
    assert "stable for learning_rate ≤" in sweep["stable_range"]
    stable = [value for value, outcome in outcomes.items() if outcome != "diverges"]
    assert f"≤ {max(stable):g}" in sweep["stable_range"]


def test_sweep_scale_takes_names(tmp_path):
    output = tmp_path / "sweep.json"
    recipe = ROOT / "recipes/seed000_mnist_csv_sigmoid"
    result = nanfix("sweep", str(recipe / "train.py"), "--scale", "none,divide-255", "--data", str(recipe / "data.yaml"),
                    "--seeds", "1", "--steps", "60", "--no-progress", "--format", "json", "-o", str(output))
    assert result.returncode in (0, 1), result.stderr
    rows = json.loads(output.read_text())["sweep"]["values"]
    assert [row["value"] for row in rows] == ["none", "divide-255"]


@pytest.mark.parametrize("args, message", [
    (["--lr", "--grid", "fast,slow"], "must be comma-separated numbers"),
    (["--lr", "--grid", "0,-1"], "must be positive numbers"),
    (["--lr", "--clip"], "choose exactly one axis"),
    (["--scale", "--grid", "divide-1000"], "no input scaling to try"),  # seed002's inputs are 0..1
])
def test_bad_sweep_arguments_are_usage_errors(args, message):
    result = nanfix("sweep", str(ROOT / "recipes/seed002_linear_mnist/train.py"), *args, "--no-progress",
                    "--seeds", "1", "--steps", "20")
    assert result.returncode == 2, result.stdout + result.stderr
    said = " ".join((result.stdout + result.stderr).split())
    assert message in said and "Traceback" not in said
