"""Shared fixtures: tiny real training scripts, the real CLI run once per session, the schema.

TensorFlow takes seconds to start, so the end-to-end probes of the diverging and the
healthy script run once per session (in parallel) and every test file reuses their reports:

    def test_something(diverging_probe, validate_report):
        exit_code, report = diverging_probe
        validate_report(report)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

# 784 random inputs, one-hot targets, linear Dense layers with stddev-1 weights, MSE and
# SGD at learning rate 3: the loss explodes within a few steps, then turns non-finite.
DIVERGING_SCRIPT = """\
import keras
import numpy as np

rng = np.random.default_rng(0)
x = rng.random((1000, 784)).astype("float32")
y = keras.utils.to_categorical(rng.integers(0, 10, 1000), 10)

model = keras.Sequential([
    keras.Input((784,)),
    keras.layers.Dense(30, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0)),
    keras.layers.Dense(10, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0)),
])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=3.0), loss="mse")
model.fit(x, y, batch_size=10, epochs=1)
"""

# Three separable blobs, a small ReLU net, softmax + categorical cross-entropy, Adam 1e-2.
HEALTHY_SCRIPT = """\
import keras
import numpy as np

rng = np.random.default_rng(0)
centers = np.array([[0.0, 0.0], [4.0, 4.0], [-4.0, 4.0]])
labels = rng.integers(0, 3, 600)
x = (centers[labels] + rng.normal(0, 0.5, (600, 2))).astype("float32")
y = keras.utils.to_categorical(labels, 3)

model = keras.Sequential([
    keras.Input((2,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(3, activation="softmax"),
])
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="categorical_crossentropy",
              metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=5)
"""

# Softmax over a single unit is constantly 1: binary cross-entropy cannot move, it stalls.
STALLING_SCRIPT = """\
import keras
import numpy as np

rng = np.random.default_rng(0)
x = rng.normal(size=(600, 4)).astype("float32")
y = (x[:, 0] + x[:, 1] > 0).astype("float32").reshape(-1, 1)

model = keras.Sequential([
    keras.Input((4,)),
    keras.layers.Dense(16, activation="relu"),
    keras.layers.Dense(1, activation="softmax"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=5)
"""

SCRIPTS = {"diverge.py": DIVERGING_SCRIPT, "healthy.py": HEALTHY_SCRIPT, "stall.py": STALLING_SCRIPT}
# Small budgets: each probe is a few seconds on two CPU cores.
BUDGET = ["--no-progress", "--seeds", "2", "--steps", "60"]
PROBE_ARGS = ["--format", "json", *BUDGET, "--no-fixes"]
CLI_TIMEOUT = 240


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a CLI run: quiet TensorFlow, no colour, not 'inside GitHub'."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "FORCE_COLOR")}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", NO_COLOR="1", COLUMNS="200")
    env.update(extra)
    return env


def cli_command(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "nanfix.cli", *[str(arg) for arg in args]]


def run_cli(args: list[str], cwd: str | os.PathLike | None = None,
            env: dict[str, str] | None = None, timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess:
    """Run `python -m nanfix.cli ARGS` and capture its output (text)."""
    return subprocess.run(cli_command(args), cwd=cwd, env=env or cli_env(), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def line_of(source: str, needle: str) -> int:
    """The 1-based line of the first line containing `needle`."""
    for number, line in enumerate(source.splitlines(), start=1):
        if needle in line:
            return number
    raise ValueError(f"{needle!r} not in script")


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fake repository: pyproject.toml (no [tool.nanfix]) and scripts/ with the tiny scripts.

    The pyproject stops the upward search for [tool.nanfix] here, so no settings leak in
    from directories above the temporary one.
    """
    root = tmp_path_factory.mktemp("nanfix-ci")
    (root / "pyproject.toml").write_text('[project]\nname = "fixture"\nversion = "0"\n')
    scripts = root / "scripts"
    scripts.mkdir()
    for name, source in SCRIPTS.items():
        (scripts / name).write_text(source)
    return root


@pytest.fixture(scope="session")
def script_dir(workspace: Path) -> Path:
    return workspace / "scripts"


@pytest.fixture(scope="session")
def make_cli_env() -> Callable[..., dict[str, str]]:
    """make_cli_env(**extra): the environment CLI runs get, plus `extra`."""
    return cli_env


@pytest.fixture(scope="session")
def nanfix_cli() -> Callable[..., subprocess.CompletedProcess]:
    """run_cli(args, cwd=None, env=None): the real CLI in a subprocess."""
    return run_cli


def _parse_report(process: subprocess.CompletedProcess | Any, stdout: str, stderr: str) -> dict[str, Any]:
    try:
        return json.loads(stdout)
    except ValueError:
        pytest.fail(f"the CLI printed no JSON report (exit {process.returncode}).\n"
                    f"stdout:\n{stdout[-2000:]}\nstderr:\n{stderr[-4000:]}")
        raise


@pytest.fixture(scope="session")
def _baseline_probes(script_dir: Path) -> dict[str, tuple[int, dict[str, Any]]]:
    """Probe the diverging and the healthy script at once: two TensorFlow starts overlap."""
    processes = {name: subprocess.Popen(cli_command(["probe", script_dir / name, *PROBE_ARGS]),
                                        cwd=script_dir, env=cli_env(), stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
                 for name in ("diverge.py", "healthy.py")}
    results = {}
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=CLI_TIMEOUT)
        results[name] = (process.returncode, _parse_report(process, stdout, stderr))
    return results


@pytest.fixture(scope="session")
def diverging_probe(_baseline_probes) -> tuple[int, dict[str, Any]]:
    """(exit code, report) of `nanfix probe diverge.py --format json` (2 seeds, 60 steps, no fixes)."""
    return _baseline_probes["diverge.py"]


@pytest.fixture(scope="session")
def healthy_probe(_baseline_probes) -> tuple[int, dict[str, Any]]:
    """(exit code, report) of `nanfix probe healthy.py --format json` (2 seeds, 60 steps, no fixes)."""
    return _baseline_probes["healthy.py"]


@pytest.fixture(scope="session")
def report_schema() -> dict[str, Any]:
    return json.loads((resources.files("nanfix.report") / "schema.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def validate_report(report_schema) -> Callable[[dict[str, Any]], None]:
    """validate_report(report): fail the test, listing every violation, unless it fits the schema."""
    jsonschema = pytest.importorskip("jsonschema")
    validator_class = jsonschema.Draft202012Validator
    validator_class.check_schema(report_schema)
    validator = validator_class(report_schema)

    def validate(report: dict[str, Any]) -> None:
        errors = sorted(validator.iter_errors(report), key=lambda error: list(error.absolute_path))
        if errors:
            lines = [f"  at /{'/'.join(str(p) for p in error.absolute_path)}: {error.message[:300]}"
                     for error in errors[:20]]
            pytest.fail("report does not match nanfix/report/schema.json:\n" + "\n".join(lines))

    return validate
