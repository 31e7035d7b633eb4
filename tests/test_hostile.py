"""Nothing a script or a folder does can hurt the user, or hang nanfix: the reliability cases
kept as tests, so none comes back (issue 27; --apply's planted link is in tests/test_sweep.py).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from conftest import cli_env, run_cli

import nanfix
from nanfix.capture import hooks as capture

HOSTILE = Path(__file__).resolve().parent / "scripts" / "hostile"


def alive(pid: int) -> bool:
    """The process runs (a zombie waiting to be reaped has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.slow
def test_a_script_that_forks_and_starts_children_and_threads_is_reported_and_ended(tmp_path):
    script = tmp_path / "forks.py"
    shutil.copy(HOSTILE / "forks.py", script)
    pids = tmp_path / "pids.txt"
    done = run_cli(["probe", script, "--no-fixes", "--seeds", "2", "--no-progress", "--format", "json",
                    "--time-limit", "300"], cwd=tmp_path, env=cli_env(HOSTILE_PIDS=str(pids)))
    assert done.returncode in (0, 1), done.stderr[-2000:]  # reported (3 would be the time limit)
    child = int(pids.read_text().split()[0])
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(child), "the script's child process was left running"


@pytest.mark.slow
def test_the_time_limit_is_a_hard_deadline_for_a_script_that_never_reaches_fit(tmp_path):
    started = time.monotonic()
    done = run_cli(["probe", HOSTILE / "loops.py", "--no-progress", "--time-limit", "20"], cwd=tmp_path)
    # The limit, with a wide margin for starting Python on a slow machine: what is tested is
    # that the loop is ended at all, where waiting on it would hang until the test's timeout.
    assert time.monotonic() - started < 20 * 4
    assert done.returncode == 3 and "time limit" in done.stdout


def test_user_text_never_reaches_the_terminal_as_markup_or_escape_codes(tmp_path):
    script = tmp_path / "[bold]train.py"
    shutil.copy(HOSTILE / "raises_escape.py", script)
    done = run_cli(["probe", script, "--no-progress"], cwd=tmp_path)
    assert done.returncode == 3
    assert "[bold]train.py" in done.stdout  # the file name as it is
    assert "\x1b" not in done.stdout and "\\x1b[31mRED" in done.stdout  # the escape made visible


def test_a_sweep_value_that_is_no_number_is_refused_before_any_work(tmp_path):
    marker = tmp_path / "ran.txt"
    script = tmp_path / "train.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    done = run_cli(["sweep", script, "--lr", "[abc]"], cwd=tmp_path)
    assert done.returncode == 2 and "must be comma-separated numbers" in done.stderr
    assert not marker.exists()  # refused before the script ran


def test_the_api_checks_its_arguments_as_the_command_line_does():
    import keras
    import numpy as np

    capture.stop_capturing()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = np.zeros((512, 4), "float32"), np.zeros(100, "int64")
    with pytest.raises(ValueError, match="different lengths .x has 512, y has 100 rows"):
        nanfix.probe(model, x, y)
    with pytest.raises(ValueError, match="`seeds` must be at least 1"):
        nanfix.probe(model, x, np.zeros(512, "int64"), seeds=0)
    with pytest.raises(ValueError, match="fail_on"):
        nanfix.probe(model, x, np.zeros(512, "int64"), fail_on="sometimes")
