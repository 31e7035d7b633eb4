"""A fix the user can keep: what the report says cures is what the diff does, and applying it
keeps the rest of the script right (its own evaluate and predict, after fit).

The scripts under tests/scripts/keep end with their own evaluation; the top cure's diff is
applied and the patched script is run as a user would, to its end.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from fixture_runs import examine, family_fixture

from nanfix.fixes.source.apply import apply_diff
from nanfix.fixes.source.edits import OptimizerEdit
from nanfix.records import FixOutcome

KEEP = Path(__file__).resolve().parent.parent / "scripts" / "keep"
pytestmark = pytest.mark.slow


def patched_run(name: str, tmp_path: Path):
    """The report on the script, and what its patched copy prints when run to its end."""
    report, _, _ = examine(KEEP / name, seeds=3)
    top = report.fixes[0]
    assert top.outcome is FixOutcome.CURES and top.diff and top.verified is True, \
        [(fix.id, fix.outcome.value, fix.note) for fix in report.fixes]
    patched = tmp_path / name
    patched.write_text(apply_diff((KEEP / name).read_text(), top.diff))
    done = subprocess.run([sys.executable, str(patched)], capture_output=True, text=True, timeout=240,
                          cwd=tmp_path, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    return top, done.stdout


def test_the_cure_keeps_the_script_s_own_evaluate_on_raw_test_inputs_right(tmp_path):
    top, printed = patched_run("split_evaluate.py", tmp_path)
    assert top.families == ["input_scaling"] and "Rescaling(1 / 255)" in top.diff
    accuracy = float(re.search(r"test accuracy ([\d.]+)", printed).group(1))
    assert abs(accuracy - top.probe.median("val_accuracy")) <= 0.05, (accuracy, top.note)


def test_a_regression_cure_keeps_the_predictions_in_the_user_s_units(tmp_path):
    top, printed = patched_run("regression_predict.py", tmp_path)
    assert top.families == ["target_scaling"] and "Rescaling(scale=" in top.diff
    found = re.search(r"prediction mean ([-\d.]+) target mean ([-\d.]+) r2 ([-\d.]+)", printed)
    predicted, target, r2 = (float(value) for value in found.groups())
    assert abs(predicted - target) <= 0.05 * abs(target) and r2 >= 0.8, printed


def test_a_fix_whose_patched_script_does_not_cure_is_no_cure(monkeypatch):
    """An edit written otherwise than it was measured (here: a learning rate a hundred times
    the one probed): the check on the patched script catches it."""
    measured = OptimizerEdit.replace

    def written_otherwise(edit, script):
        settings = {key: value * 100 if key == "learning_rate" else value for key, value in edit.settings.items()}
        return measured(OptimizerEdit(settings, edit.class_name), script)

    monkeypatch.setattr(OptimizerEdit, "replace", written_otherwise)
    report, _, _ = examine(family_fixture("lr"), families=["lr"])
    checked = [fix for fix in report.fixes if fix.verified is not None]
    assert checked, [(fix.id, fix.outcome.value) for fix in report.fixes]
    for fix in checked:
        assert fix.verified is False and fix.outcome is not FixOutcome.CURES
        assert fix.note.startswith("its patched script does not cure"), fix.note
    assert all(fix.outcome is not FixOutcome.CURES or fix.verified is None for fix in report.fixes)
