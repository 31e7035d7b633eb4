"""What a user reads: full diff lines in a CI log, the format a file name asks for, the
script's own words, stable ties, the right chance loss, and no noise on healthy runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_cli_probe import SCRIPTS, nanfix

from nanfix.records import FixOutcome, FixResult, Outcome, ProbeResult, SeedRun

# its fixtures probe once (session scope: a module fixture would be set up again whenever
# xdist runs another module's test in between) and one xdist worker runs the whole module
pytestmark = pytest.mark.xdist_group("test_report_details")


@pytest.fixture(scope="session")
def long_line_run(tmp_path_factory):
    """The table as a CI log gets it (stdout not a terminal), and `-o report.json`."""
    folder = tmp_path_factory.mktemp("long_line")
    result = nanfix("probe", str(SCRIPTS / "long_line_softmax.py"), "--seeds", "2", "--steps", "100",
                    "--no-progress", "-o", str(folder / "report.json"))
    return result, folder / "report.json"


def test_a_diff_is_never_cut_at_the_log_s_width(long_line_run):
    result, _ = long_line_run
    changed = [line for line in result.stdout.splitlines() if line.startswith("+") and "Dense(1" in line]
    assert changed, result.stdout
    assert 'activation="sigmoid")])' in changed[0]  # the end of a 140-column line, whole


def test_the_output_file_s_extension_chooses_the_format(long_line_run, tmp_path):
    from nanfix import cli

    _, written = long_line_run
    report = json.loads(written.read_text())  # -o report.json without --format: JSON
    assert report["verdict"] == "stalls"
    cli._emit(report, "table", str(tmp_path / "report.html"))
    assert "<html" in (tmp_path / "report.html").read_text().lower()
    cli._emit(report, "table", str(tmp_path / "report.xml"))
    assert "<testsuite" in (tmp_path / "report.xml").read_text()
    cli._emit(report, "table", str(tmp_path / "report.md"))
    assert (tmp_path / "report.md").read_text().startswith("## nanfix")


def test_what_is_piped_to_nanfix_reaches_the_script():
    result = nanfix("probe", str(SCRIPTS / "reads_stdin.py"), "--no-progress", "--format", "json",
                    input="7\n")
    assert json.loads(result.stdout)["error"]["message"].endswith("stdin gave '7\\n'")


def _fix(fix_id: str, elapsed: float) -> FixResult:
    run = SeedRun(seed=0, outcome=Outcome.HEALTHY, steps_run=10, final_loss=0.1, val_accuracy=0.9)
    return FixResult(id=fix_id, family="lr", title=fix_id, changes=[], outcome=FixOutcome.CURES,
                     seeds_ok=1, seeds=1, probe=ProbeResult(label=fix_id, runs=[run], steps=10,
                                                            elapsed_s=elapsed))


def test_exact_ties_rank_by_id_never_by_time():
    from nanfix.sweep.rank import rank

    first = [fix.id for fix in rank([_fix("lr-b", 1.0), _fix("lr-a", 2.0)])]
    second = [fix.id for fix in rank([_fix("lr-b", 2.0), _fix("lr-a", 1.0)])]
    assert first == second == ["lr-a", "lr-b"]


def test_a_binary_chance_loss_reads_ln_2():
    from nanfix.capture.task import infer

    class Output:
        layers: list = []
        outputs: list = []

    task = infer(Output(), "binary_crossentropy", np.array([0.0, 1.0, 1.0, 0.0]))
    assert "ln(2) = 0.6931" in task.chance_loss_text(0.693)


def test_no_verdict_says_timeout_or_gives_the_crash_s_traceback():
    from types import SimpleNamespace

    from nanfix.config import Settings
    from nanfix.records import ErrorKind
    from nanfix.session import no_verdict

    loaded = SimpleNamespace(origins={"fit": "train.py:9"}, seconds_before_examine=4.0)
    late = ProbeResult(label="baseline", steps=10, runs=[SeedRun(seed=0, outcome=Outcome.TIMED_OUT, steps_run=0)])
    assert no_verdict(late, loaded, Settings(time_limit=5)).type is ErrorKind.TIMEOUT
    crashed = ProbeResult(label="baseline", steps=10, runs=[
        SeedRun(seed=0, outcome=Outcome.CRASHED, steps_run=0, reason="boom", traceback="Traceback ...")])
    error = no_verdict(crashed, loaded, Settings())
    assert error.type is ErrorKind.TRAINING_FAILED and error.detail == "Traceback ..."


def test_the_debug_hint_is_not_shown_under_debug():
    from io import StringIO

    from rich.console import Console

    from nanfix.report.terminal import render_report

    report = {"verdict": "error", "script": "train.py", "capture": {}, "settings": {},
              "error": {"type": "training_failed", "message": "boom", "detail": "Traceback ..."}}
    for debug, shown in ((False, True), (True, False)):
        out = StringIO()
        render_report(report, Console(file=out, width=100), debug=debug)
        assert ("Run with --debug" in out.getvalue()) is shown


def test_a_confident_sigmoid_output_is_not_called_saturated():
    import keras

    from nanfix.capture.task import infer
    from nanfix.capture.training_data import TrainingData
    from nanfix.probes.trainer import Trainer

    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"),
                              keras.layers.Dense(1, activation="sigmoid", name="out")])
    trainer = Trainer(model, keras.optimizers.Adam(), "binary_crossentropy",
                      infer(model, "binary_crossentropy", y), TrainingData(x=x, y=y, sample_weight=None, batch_size=16))
    assert [name for name in trainer.layout.saturating_layers] == [model.layers[0].name]
