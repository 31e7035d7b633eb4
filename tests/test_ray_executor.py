"""`--executor ray`: the fix sweep's candidates and seeds as Ray tasks on a local Ray.

The same recipe is probed with the local executor and through a Ray started on this machine
(two workers, each loading the script once); the reports must agree on everything the sweep
measured: the verdict, the findings, the ranked fixes, every seed's outcome and losses.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer

from nanfix import cli
from nanfix.config import Settings

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "seed001_log_loss"


def probe(tmp_path: Path, name: str, *extra: str) -> dict:
    from tests.test_cli_probe import nanfix

    output = tmp_path / f"{name}.json"
    result = nanfix("probe", str(RECIPE / "train.py"), "--no-progress", "--format", "json",
                    "-o", str(output), *extra, cwd=tmp_path, timeout=400)
    assert output.exists(), result.stderr
    return json.loads(output.read_text())


def test_the_terminal_says_where_the_fixes_trained():
    from rich.console import Console

    from nanfix.report.terminal import _render_budget

    console = Console(record=True, width=200)
    _render_budget({"steps": 900, "spent": 800, "tried": 6, "executor": "ray", "workers": 4}, console)
    _render_budget({"steps": 900, "spent": 800, "tried": 6, "executor": "local", "workers": 1}, console)
    lines = console.export_text().splitlines()
    assert "on 4 Ray workers" in lines[0] and "Ray" not in lines[1]


def measured(report: dict) -> dict:
    return {
        "verdict": report["verdict"],
        "findings": [item["code"] for item in report["findings"]],
        "fixes": [(fix["id"], fix["outcome"], fix["seeds_ok"],
                   [(run["seed"], run["outcome"], run["steps_run"], run["final_loss"])
                    for run in fix["runs"]]) for fix in report["fixes"]],
        "budget": {k: v for k, v in report["budget"].items() if k not in ("executor", "workers")},
    }


@pytest.mark.slow
def test_a_sweep_through_a_local_ray_gives_the_local_report(tmp_path):
    local = probe(tmp_path, "local")
    remote = probe(tmp_path, "ray", "--executor", "ray", "--workers", "2")
    assert remote["error"] is None, remote["error"]
    assert remote["budget"]["executor"] == "ray" and remote["budget"]["workers"] == 2
    assert local["budget"]["executor"] == "local"
    assert measured(remote) == measured(local)
    assert local["fixes"][0]["outcome"] == "cures"


@pytest.mark.slow
def test_workers_that_die_are_measured_failures_not_a_crash(tmp_path):
    """Every Ray worker dies loading the script: the baseline (in nanfix's own worker) still
    gives its verdict, and each fix says why it could not train."""
    from tests.test_cli_probe import nanfix

    output = tmp_path / "report.json"
    script = Path(__file__).parent / "scripts" / "dies_in_ray.py"
    result = nanfix("probe", str(script), "--executor", "ray", "--workers", "2", "--seeds", "2",
                    "--steps", "100", "--max-fixes", "4", "--no-progress", "--format", "json",
                    "-o", str(output), cwd=tmp_path, env={"NANFIX_TEST_KILL_RAY_WORKERS": "1"},
                    timeout=400)
    report = json.loads(output.read_text())
    assert result.returncode == 1 and report["verdict"] == "diverges", result.stderr
    assert report["fixes"] and all(fix["outcome"] == "fails" for fix in report["fixes"])
    assert all("Ray worker" in fix["note"] for fix in report["fixes"]), [f["note"] for f in report["fixes"]]


def test_ray_missing_is_a_usage_error_that_says_how_to_get_it(monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "ray" else real(name, *args))
    with pytest.raises(typer.Exit) as stopped:
        cli._check_executor(Settings(executor="ray"))
    assert stopped.value.exit_code == 2
    assert "'nanfix[ray]'" in " ".join(capsys.readouterr().err.split())
    cli._check_executor(Settings())  # the local executor needs nothing


def test_an_address_alone_means_ray():
    assert cli._executor_flags(None, "ray://head:10001", None)["executor"] == "ray"
    assert cli._executor_flags(None, None, None)["executor"] is None
