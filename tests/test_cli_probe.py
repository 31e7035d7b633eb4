"""End-to-end: the real `nanfix probe` CLI on small broken and healthy scripts, and bad inputs.

Each run starts a real worker process with TensorFlow, so budgets are small (2 seeds, a
hundred-odd steps, no fix sweeps unless the test is about them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).parent / "scripts"
QUICK = ["--seeds", "2", "--steps", "120", "--no-fixes", "--no-progress"]


def nanfix(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 180,
           input: str | None = None):
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "NO_COLOR": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "nanfix.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=environment, timeout=timeout,
                          input=input if input is not None else "")


def probe_json(script: str, *extra: str, tmp_path: Path, cwd: Path | None = None):
    output = tmp_path / f"{Path(script).stem}.json"
    result = nanfix("probe", str(SCRIPTS / script), *QUICK, "--format", "json", "-o", str(output),
                    *extra, cwd=cwd)
    assert output.exists(), result.stderr
    return result.returncode, json.loads(output.read_text())


def codes(report) -> set[str]:
    return {finding["code"] for finding in report["findings"]}


def test_healthy_mlp_is_healthy_with_no_error_findings(tmp_path):
    code, report = probe_json("healthy_mlp.py", tmp_path=tmp_path)
    assert code == 0
    assert report["verdict"] == "healthy"
    assert report["schema"] == "nanfix.report/1"
    assert not [f for f in report["findings"] if f["severity"] == "error"]
    assert report["baseline"]["seeds_ok"] == report["baseline"]["seeds"] == 2
    run = report["baseline"]["runs"][0]
    assert run["final_loss"] < run["start_loss"] and run["val_accuracy"] > 0.8
    assert report["fixes"] == []


def test_healthy_cnn_is_healthy(tmp_path):
    code, report = probe_json("healthy_cnn.py", tmp_path=tmp_path)
    assert (code, report["verdict"]) == (0, "healthy")


def test_log_of_zero_diverges_at_the_loss(tmp_path):
    code, report = probe_json("explicit_nan.py", tmp_path=tmp_path)
    assert code == 1
    assert report["verdict"] == "diverges"
    first = report["baseline"]["first_nonfinite"]
    assert first["kind"] in ("loss", "activation", "gradient")
    assert "N701" in codes(report)
    n701 = next(f for f in report["findings"] if f["code"] == "N701")
    assert n701["evidence"]["op"]  # the numerics replay named the op


def test_silent_nan_in_weights_is_found_while_loss_is_finite(tmp_path):
    code, report = probe_json("silent_nan.py", tmp_path=tmp_path)
    assert code == 1 and report["verdict"] == "diverges"
    first = report["baseline"]["first_nonfinite"]
    assert first["kind"] == "weight" and first["layer"].startswith("batch_normalization")
    assert first["origin"] == "silent_nan.py:10"
    assert "N702" in codes(report)


def test_softmax_on_one_unit_stalls(tmp_path):
    code, report = probe_json("stall.py", tmp_path=tmp_path)
    assert code == 1 and report["verdict"] == "stalls"
    assert {"S801", "S802", "S803"} & codes(report)


def test_exploding_regression_diverges_and_names_the_layer(tmp_path):
    code, report = probe_json("exploding.py", tmp_path=tmp_path)
    assert code == 1 and report["verdict"] == "diverges"
    assert report["baseline"]["first_bad_layer"]
    assert {"N701", "N703"} <= codes(report)


def test_labels_out_of_range_is_a_script_failure_with_the_cause(tmp_path):
    code, report = probe_json("labels_out_of_range.py", tmp_path=tmp_path)
    assert code == 3 and report["verdict"] == "error"
    assert "outside the valid range" in report["error"]["message"] or "L202" in codes(report)


def test_exit_zero_keeps_the_report_but_not_the_failure(tmp_path):
    code, report = probe_json("exploding.py", "--exit-zero", tmp_path=tmp_path)
    assert code == 0 and report["verdict"] == "diverges"


def test_table_output_is_plain_without_a_terminal():
    result = nanfix("probe", str(SCRIPTS / "exploding.py"), *QUICK)
    assert result.returncode == 1
    assert "Verdict: DIVERGES" in result.stdout
    assert "\x1b[" not in result.stdout  # NO_COLOR / not a terminal: no escape codes


def test_script_arguments_reach_the_script(tmp_path):
    code, report = probe_json("argv_entry.py", "--", "--train", tmp_path=tmp_path)
    assert report["verdict"] == "healthy", report["error"]
    assert report["argv"] == ["--train"]  # the JSON says what the script got
    code, report = probe_json("argv_entry.py", tmp_path=tmp_path)
    assert code == 3 and report["error"]["type"] == "no_fit" and report["argv"] == []


def test_explicit_entry_build_model_and_load_data(tmp_path):
    code, report = probe_json("explicit_entry.py", tmp_path=tmp_path)
    assert (code, report["verdict"]) == (0, "healthy")
    assert report["capture"]["entry"] == "build_model"


def test_dataset_config_feeds_the_model(tmp_path):
    rows = ["label,a,b,c"] + [f"{i % 2},{i % 2 * 3 + 0.1},{(i * 7) % 5},{1 - i % 2}" for i in range(400)]
    (tmp_path / "table.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "data.yaml").write_text("source: table.csv\nlabel: label\nfeatures: 'a:c'\n"
                                        "one_hot: 2\nshuffle: true\nvalidation_split: 0.25\n")
    script = tmp_path / "model.py"
    script.write_text(
        "import keras\n\ndef build_model():\n"
        "    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(8, activation='relu'),\n"
        "                              keras.layers.Dense(2, activation='softmax')])\n"
        "    model.compile(optimizer=keras.optimizers.Adam(0.01), loss='categorical_crossentropy')\n"
        "    return model\n")
    output = tmp_path / "r.json"
    result = nanfix("probe", str(script), "--data", str(tmp_path / "data.yaml"), *QUICK,
                    "--format", "json", "-o", str(output))
    report = json.loads(output.read_text())
    assert result.returncode == 0, report["error"]
    assert report["capture"]["data"]["source"] == "config"
    assert report["capture"]["data"]["validation_samples"] == 100


def test_malformed_dataset_config_is_a_usage_error(tmp_path):
    (tmp_path / "data.yaml").write_text("source: missing.csv\ncolumns: [a]\n")
    result = nanfix("probe", str(SCRIPTS / "explicit_entry.py"), "--data", str(tmp_path / "data.yaml"), *QUICK)
    assert result.returncode == 2
    assert "unknown key(s) columns" in result.stdout + result.stderr


@pytest.mark.parametrize("script, kind, text", [
    ("raises.py", "script_error", "NameError"),
    ("tf1_optimizer.py", "script_error", "keras.optimizers.SGD"),
    ("no_fit.py", "no_fit", "without calling model.fit"),
    ("syntax_error.py", "syntax_error", "does not parse"),
    ("custom_loop.py", "custom_loop", "GradientTape"),
    ("list_inputs.py", "script_error", "at model.fit: Unrecognized data type"),  # Keras' words
    ("string_inputs.py", "script_error", "Keras trains on numbers"),
])
def test_script_failures_are_one_paragraph_not_a_traceback(script, kind, text, tmp_path):
    written = tmp_path / "report.json"  # the table on stdout and the JSON report, one run
    result = nanfix("probe", str(SCRIPTS / script), *QUICK, "-o", str(written))
    assert result.returncode == 3
    output = result.stdout + result.stderr
    assert text in output
    assert "Traceback (most recent call last)" not in output
    report = json.loads(written.read_text())
    assert report["verdict"] == "error" and report["error"]["type"] == kind


def test_the_failing_line_and_legacy_hint_are_reported():
    report = json.loads(nanfix("probe", str(SCRIPTS / "tf1_optimizer.py"), *QUICK, "--format", "json").stdout)
    assert report["error"]["where"] == "tf1_optimizer.py:4"
    assert "keras.optimizers.SGD" in report["error"]["hint"]


def test_debug_shows_the_traceback():
    result = nanfix("probe", str(SCRIPTS / "raises.py"), *QUICK, "--debug")
    assert "Traceback (most recent call last)" in result.stderr


def test_a_script_interrupted_before_fit_is_its_failure_not_nanfixs():
    report = json.loads(nanfix("probe", str(SCRIPTS / "interrupted.py"), *QUICK, "--format", "json").stdout)
    assert report["error"]["type"] == "script_error" and "KeyboardInterrupt" in report["error"]["message"]
    assert report["error"]["where"] == "interrupted.py:3"


def test_another_keras_backend_is_a_usage_error():
    result = nanfix("probe", str(SCRIPTS / "exploding.py"), *QUICK, env={"KERAS_BACKEND": "jax"})
    assert result.returncode == 2
    assert "KERAS_BACKEND=jax" in result.stderr and "tensorflow" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_mistyped_option_is_a_usage_error_that_names_the_real_one():
    result = nanfix("probe", str(SCRIPTS / "exploding.py"), "--stpes", "100")
    assert result.returncode == 2
    assert "--stpes" in result.stderr and "--steps" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_script_is_a_usage_error():
    result = nanfix("probe", "does/not/exist.py")
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_hang_is_stopped_at_the_time_limit():
    result = nanfix("probe", str(SCRIPTS / "hangs.py"), *QUICK, "--time-limit", "1", "--format", "json",
                    "--", "--patience", "9", env={"NANFIX_GRACE_SECONDS": "3"})
    report = json.loads(result.stdout)
    assert result.returncode == 3
    assert report["error"]["type"] == "timeout"
    assert report["argv"] == ["--patience", "9"]  # the report of a stopped worker too


def test_a_segfault_is_reported_and_nanfix_exits_cleanly():
    result = nanfix("probe", str(SCRIPTS / "segfault.py"), *QUICK, "--format", "json")
    report = json.loads(result.stdout)
    assert result.returncode == 3
    assert report["error"]["type"] == "crashed" and "SIGSEGV" in report["error"]["message"]


def test_memory_blowup_is_stopped_at_the_memory_limit():
    result = nanfix("probe", str(SCRIPTS / "memory_hog.py"), *QUICK, "--memory-limit", "1500",
                    "--format", "json")
    report = json.loads(result.stdout)
    assert result.returncode == 3
    assert report["error"]["type"] == "memory"


def test_explain_and_rules():
    explained = nanfix("explain", "N701")
    assert explained.returncode == 0 and "NaN" in explained.stdout
    assert nanfix("explain", "Z999").returncode == 2
    listed = json.loads(nanfix("rules", "--format", "json").stdout)
    assert {"N701", "S801", "N706"} <= {entry["code"] for entry in listed}
