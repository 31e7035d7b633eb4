"""The fixture scripts of the registries, run the way `nanfix probe` runs a script.

`tests/fixtures/findings/CODE.py` is a small user script that shows rule CODE firing, and
`tests/fixtures/fixes/FAMILY.py` one that the family FAMILY is proposed for and cures (as
ruff keeps a fixture file per rule). A fixture may start with one line of extra settings,
`# nanfix: --steps 1000` (also `--seeds N`, `--batch-size N`). They run in this process
through nanfix's own loader and session, so a test sees the report's records, not its JSON.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import replace
from pathlib import Path

from nanfix.capture.load import Loaded, load
from nanfix.config import Settings
from nanfix.records import Report

FIXTURES = Path(__file__).parent / "fixtures"
RULE_FIXTURES = FIXTURES / "findings"
FAMILY_FIXTURES = FIXTURES / "fixes"
SEEDS = 2  # every fixture is judged on two seeds (a cure: healthy on both)
FLAGS = {"--steps": "steps", "--seeds": "seeds", "--batch-size": "batch_size"}


def fixture_settings(path: Path, **overrides) -> Settings:
    """The settings a fixture runs under: two seeds, the probe horizon following its fit, and
    what its `# nanfix:` line asks for."""
    values: dict = {"seeds": SEEDS}
    first = path.read_text(encoding="utf-8").splitlines()[0]
    if first.startswith("# nanfix:"):
        words = shlex.split(first.removeprefix("# nanfix:"))
        for flag, value in zip(words[::2], words[1::2], strict=True):
            values[FLAGS[flag]] = int(value)
        if "steps" in values:
            values["steps_follow_fit"] = False
    return replace(Settings(), **{**values, **overrides})


def load_script(path: Path, settings: Settings) -> Loaded:
    """The script run to its first fit, from its own folder, as the CLI runs it."""
    import keras

    here = os.getcwd()
    os.chdir(path.parent)
    try:
        return load(str(path), [], None, settings)
    finally:
        os.chdir(here)
        # a script's global dtype policy must not leak into the next one's models
        keras.mixed_precision.set_global_policy("float32")


def examine(path: Path, **overrides) -> tuple[Report, Loaded, Settings]:
    """The report `nanfix probe` gives for the fixture (fixes only if `sweeps=True` is
    asked for), with what was loaded and the settings."""
    from nanfix import session

    settings = fixture_settings(path, **overrides)
    loaded = load_script(path, settings)
    report = session.examine(loaded, settings, lambda event: None)
    return report, loaded, settings


def rule_fixture(code: str) -> Path:
    return RULE_FIXTURES / f"{code}.py"


def family_fixture(name: str) -> Path:
    return FAMILY_FIXTURES / f"{name}.py"
