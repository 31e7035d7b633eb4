"""One end-to-end test per recipe: nanfix finds what the seed page describes, the fix it ranks
first cures every seed, the diff applies, and the patched script trains to a clearly learned
accuracy.

Each recipe is copied to a temporary directory (with recipes/_data, which the scripts import),
probed through the real CLI exactly as `make recipes` does, with `--apply`, and the patched
`train.nanfix.py` is then checked with `nanfix check --seeds 1`: a fresh run of the patched
file, its own data and budget, judged healthy and learning.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

RECIPES = Path(__file__).parent.parent.parent / "recipes"


@dataclass
class Expected:
    verdict: str
    codes: set[str]  # finding codes that name the page's cause
    top_families: set[str]  # the family (or one of) the top-ranked cure belongs to
    learned_accuracy: float  # the patched script's held-out accuracy must reach this


CASES = {
    # Raw 0..255 pixels, sigmoid under categorical cross-entropy: stuck at ln(10) = 2.3026.
    "seed000_mnist_csv_sigmoid": Expected("stalls", {"P301", "D104", "S801"}, {"input_scaling"}, 0.3),
    # -sum(y * log(softmax)): NaN at the loss's Log; the built-in cross-entropy cures it.
    "seed001_log_loss": Expected("diverges", {"N701", "P304"}, {"stable_loss"}, 0.8),
    # The page's clip_by_value "fix": no NaN, nothing learned; a real fix is ranked instead.
    "seed001_log_loss_fake_fix": Expected("stalls", {"P304"}, {"stable_loss"}, 0.8),
    # Linear 784-30-10, N(0,1) weights, MSE, SGD at 3: the activations cure it.
    "seed002_linear_mnist": Expected("diverges", {"N701", "M401", "M402"}, {"activation"}, 0.5),
    # Adam at 1e-5 learns nothing in a probe: raise the rate (the long-run blow-up: README).
    "seed003_adam_epsilon": Expected("stalls", {"S801"}, {"lr"}, 0.6),
    # Deep CNN, hand-written NLL, raw pixels, SGD at 0.2: NaN at step 1.
    "seed004_deep_cnn_nll": Expected("diverges", {"N701", "P304"},
                                     {"lr", "optimizer", "clipping", "init", "stable_loss", "input_scaling"}, 0.8),
}


def nanfix(*args: str, cwd: Path, timeout: int = 300):
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "NO_COLOR": "1", "COLUMNS": "120"}
    return subprocess.run([sys.executable, "-m", "nanfix.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=environment, timeout=timeout)


def copy_recipe(name: str, tmp_path: Path) -> tuple[Path, list[str]]:
    """The recipe and recipes/_data under tmp_path/recipes; its nanfix-args, made local."""
    shutil.copytree(RECIPES / "_data", tmp_path / "recipes" / "_data")
    shutil.copytree(RECIPES / name, tmp_path / "recipes" / name)
    args_file = RECIPES / name / "nanfix-args"
    args = args_file.read_text().split() if args_file.exists() else []
    return tmp_path / "recipes" / name / "train.py", args


@pytest.mark.parametrize("name", sorted(CASES))
def test_recipe_is_diagnosed_and_cured(name, tmp_path, validate_report):
    expected = CASES[name]
    script, args = copy_recipe(name, tmp_path)
    output = tmp_path / "report.json"
    result = nanfix("probe", str(script), *args, "--no-progress", "--apply", "--format", "json",
                    "-o", str(output), cwd=tmp_path)
    assert output.exists(), result.stdout + result.stderr
    report = json.loads(output.read_text())
    validate_report(report)

    assert result.returncode == 1  # the recipe is broken on purpose
    assert report["verdict"] == expected.verdict, report["summary"]
    found = {finding["code"] for finding in report["findings"]}
    assert expected.codes <= found, f"missing {expected.codes - found}; found {sorted(found)}"

    top = report["fixes"][0]
    assert top["outcome"] == "cures", [(f["id"], f["outcome"], f["note"]) for f in report["fixes"]]
    assert top["seeds_ok"] == top["seeds"] == report["settings"]["seeds"]
    assert set(top["families"]) & expected.top_families, top["id"]
    if top["diff"]:  # the cure is measured from its diff too: its patched script cured
        assert top["verified"] is True, top["note"]
    cured_runs = top["runs"]
    assert all(run["outcome"] == "healthy" for run in cured_runs)

    # --apply wrote the patched copy next to the script and left the script alone
    patched = script.with_name("train.nanfix.py")
    assert patched.exists(), result.stderr
    assert script.read_text() == (RECIPES / name / "train.py").read_text()
    if top["diff"]:
        assert patched.read_text() != script.read_text()

    # the patched script, run afresh, trains healthily to a clearly learned accuracy; it reads
    # its own data (a --data config would replace the arrays the patch rescales)
    own_data = [arg for i, arg in enumerate(args) if arg != "--data" and (i == 0 or args[i - 1] != "--data")]
    check_json = tmp_path / "check.json"
    check = nanfix("check", str(patched), *own_data, "--seeds", "1", "--fail-on", "any", "--format", "json",
                   "-o", str(check_json), cwd=tmp_path)
    assert check_json.exists(), check.stdout + check.stderr
    checked = json.loads(check_json.read_text())
    assert check.returncode == 0 and checked["verdict"] == "healthy", checked["summary"]
    accuracy = checked["baseline"]["runs"][0]["val_accuracy"]
    assert accuracy >= expected.learned_accuracy, accuracy
