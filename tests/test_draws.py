"""A verdict over the user's runs, not over one lucky draw of the data (nanfix/capture/draws.py
and the session's draws): a script that draws its data with an unseeded generator is probed on
one draw per seed; one that does not runs to its fit once, as ever.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from fixture_runs import examine, family_fixture, fixture_settings, load_script  # noqa: E402

from nanfix import session  # noqa: E402
from nanfix.capture.draws import fingerprint  # noqa: E402
from nanfix.capture.load import load  # noqa: E402
from nanfix.records import FixOutcome, Outcome, Verdict  # noqa: E402

DRAWS = Path(__file__).resolve().parent / "scripts" / "draws"


def data_of(name: str, seed: int):
    loaded = load(str(DRAWS / name), [], None, fixture_settings(DRAWS / name), seed=seed)
    return loaded, fingerprint(loaded.data.x, loaded.data.y)


def test_an_unseeded_generator_draws_alike_under_one_seed_and_anew_under_another():
    first, same = data_of("default_rng.py", 0)
    _, again = data_of("default_rng.py", 0)
    _, other = data_of("default_rng.py", 1)
    assert first.random_draws and same == again and same != other
    python, _ = data_of("eight_points.py", 0)
    assert python.random_draws  # Python's random, called by the script itself
    fixed = load_script(family_fixture("lr"), fixture_settings(family_fixture("lr")))
    assert not fixed.random_draws  # a seeded default_rng(0): the same data on every run


def test_a_script_with_fixed_data_runs_to_its_fit_once(monkeypatch):
    loads = []
    monkeypatch.setattr(session, "load", lambda *args, **kwargs: loads.append(args) or load(*args, **kwargs))
    report, _, _ = examine(family_fixture("lr"), sweeps=False)
    assert loads == [] and report.capture["draws"] is None  # the harness's own load only


@pytest.mark.slow
def test_eight_random_points_are_judged_over_the_draws_a_user_would_see():
    report, _, settings = examine(DRAWS / "eight_points.py", seeds=3)
    assert report.capture["draws"] == {"script_seeds": [0, 1, 2]}
    diverged = [run for run in report.baseline.runs if run.outcome is Outcome.DIVERGED]
    assert report.verdict is Verdict.DIVERGES and len(diverged) >= 2
    assert any(run.first_nonfinite is not None for run in diverged)  # each seed says when it went
    top = report.fixes[0]
    assert top.outcome is FixOutcome.CURES and top.families == ["lr"] and top.seeds_ok == 3
    assert top.verified is True  # its patched script, under the same three draws
    # one draw fixed by the user: one draw for every seed
    fixed, _, _ = examine(DRAWS / "eight_points.py", seeds=3, sweeps=False, script_seed=5)
    assert fixed.capture["draws"] is None and fixed.settings["script_seed"] == 5
