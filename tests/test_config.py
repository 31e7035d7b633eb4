"""Where settings come from: defaults < [tool.nanfix] in pyproject.toml < --config < flags.

A typo in CI configuration must be an error that names the key (exit 2), never a silent
fallback to a default; and it must fail before any training starts.
"""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import pytest

from nanfix import exitcodes
from nanfix.config import Settings
from nanfix.config import sources as configfile

PYPROJECT = """\
[project]
name = "demo"
version = "0"

[tool.nanfix]
seeds = 5
steps = 100
time-limit = 50
fail_on = "stalls"
families = ["lr", "clipping"]

[tool.nanfix.thresholds]
explode_factor = 10
"""

CONFIG_YAML = """\
steps: 200
max_fixes: 4
thresholds:
  explode_factor: 20
"""

# Writes a marker file when run: proves a bad configuration stops nanfix before the script.
MARKER_SCRIPT = """\
from pathlib import Path
Path(__file__).with_name("ran.marker").write_text("the script ran")
"""


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Path]:
    """A repository with [tool.nanfix] at its root, the script two directories below it."""
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    script = tmp_path / "src" / "training" / "train.py"
    script.parent.mkdir(parents=True)
    script.write_text(MARKER_SCRIPT)
    config = tmp_path / "nanfix.yaml"
    config.write_text(CONFIG_YAML)
    return {"root": tmp_path, "pyproject": tmp_path / "pyproject.toml", "script": script,
            "config": config}


@pytest.fixture
def bare_script(tmp_path: Path) -> Path:
    """A script whose nearest pyproject.toml has no [tool.nanfix]."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "bare"\nversion = "0"\n')
    script = tmp_path / "train.py"
    script.write_text(MARKER_SCRIPT)
    return script


def flat(text: str) -> str:
    """Rich wraps stderr; compare with the line breaks folded away."""
    return " ".join(text.split())


# --- configfile.resolve ------------------------------------------------------------------------


def test_defaults_when_nothing_is_configured(bare_script):
    settings, sources = configfile.resolve(str(bare_script), None, {})
    assert settings == Settings()
    assert set(sources.values()) == {"default"}
    assert "thresholds.explode_factor" in sources


def test_the_probe_horizon_follows_the_script_s_own_fit(bare_script):
    settings = Settings()
    assert settings.for_fit(None).steps == 300  # nothing says how long it trains
    assert settings.for_fit(180).steps == 180  # never longer than the user's training
    assert settings.for_fit(12).steps == settings.min_steps == 100  # long enough to diverge
    assert settings.for_fit(50_000).steps == 300
    asked, sources = configfile.resolve(str(bare_script), None, {"steps": 500})
    assert not asked.steps_follow_fit and asked.for_fit(180).steps == 500  # asked for: as asked
    assert sources["steps_follow_fit"] == "default"


def test_pyproject_is_found_upward_from_the_script(project):
    assert configfile.find_pyproject(str(project["script"])) == str(project["pyproject"])
    settings, sources = configfile.resolve(str(project["script"]), None, {})
    origin = f"{project['pyproject']} [tool.nanfix]"
    assert (settings.seeds, settings.steps, settings.time_limit) == (5, 100, 50.0)
    assert settings.fail_on == "stalls" and settings.families == ["lr", "clipping"]
    assert settings.thresholds.explode_factor == 10.0
    assert sources["seeds"] == sources["time_limit"] == sources["thresholds.explode_factor"] == origin
    assert sources["max_fixes"] == "default"


def test_precedence_defaults_pyproject_config_flags(project):
    flags = {"seeds": 7, "steps": None, "time_limit": None}  # None: the flag was not given
    settings, sources = configfile.resolve(str(project["script"]), str(project["config"]), flags)
    pyproject = f"{project['pyproject']} [tool.nanfix]"
    expected = {
        "seeds": (7, "command line"),  # flag beats pyproject
        "steps": (200, str(project["config"])),  # --config beats pyproject
        "max_fixes": (4, str(project["config"])),  # --config beats default
        "time_limit": (50.0, pyproject),  # pyproject beats default
        "fail_on": ("stalls", pyproject),
        "max_samples": (Settings().max_samples, "default"),
    }
    for key, (value, source) in expected.items():
        assert (getattr(settings, key), sources[key]) == (value, source), key
    assert settings.thresholds.explode_factor == 20.0
    assert sources["thresholds.explode_factor"] == str(project["config"])
    assert sources["thresholds.learn_loss_drop"] == "default"


def test_config_file_may_nest_settings_under_nanfix(bare_script, tmp_path):
    config = tmp_path / "ci.yaml"
    config.write_text("nanfix:\n  seeds: 2\n  fail-on: any\n")
    settings, sources = configfile.resolve(str(bare_script), str(config), {})
    assert (settings.seeds, settings.fail_on) == (2, "any")
    assert sources["fail_on"] == str(config)


BAD_VALUES = [
    ("seedz: 3\n", "seedz"),
    ("seeds: three\n", "seeds"),
    ("seeds: 0\n", "seeds"),
    ("steps: 2.5\n", "steps"),
    ("time_limit: -1\n", "time_limit"),
    ("fail_on: sometimes\n", "fail_on"),
    ("sweeps: maybe\n", "sweeps"),
    ("families: [lr, magic]\n", "magic"),
    ("grids:\n  lr: fast\n", "grids.lr"),
    ("thresholds:\n  explode: 3\n", "thresholds.explode"),
    ("thresholds:\n  explode_factor: big\n", "thresholds.explode_factor"),
    ("rules:\n  no-such-rule:\n    scale: 3\n", "rules.no-such-rule"),
    ("rules:\n  unscaled-inputs:\n    size: 3\n", "size"),
    ("rules:\n  D104:\n    scale: big\n", "rules.D104.scale"),
    ("rules:\n  D104: 3\n", "rules.D104"),
]


@pytest.mark.parametrize(("text", "key"), BAD_VALUES)
def test_bad_config_names_the_key(bare_script, tmp_path, text, key):
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    with pytest.raises(configfile.ConfigError) as raised:
        configfile.resolve(str(bare_script), str(config), {})
    assert key in str(raised.value) and str(config) in str(raised.value)


def test_a_rule_s_own_limits_are_set_by_its_name_or_code(project):
    project["pyproject"].write_text(PYPROJECT + textwrap.dedent("""\
        [tool.nanfix.rules.dominant-regularization]
        factor = 0.5
        [tool.nanfix.rules.D104]
        scale = 100
        """))
    settings, sources = configfile.resolve(str(project["script"]), None, {})
    assert settings.rules == {"M404": {"factor": 0.5}, "D104": {"scale": 100.0}}
    assert sources["rules.M404.factor"] == sources["rules.D104.scale"] == f"{project['pyproject']} [tool.nanfix]"
    assert sources["rules.D105.scale"] == "default"
    with pytest.raises(configfile.ConfigError, match=r"its limits: scale"):
        project["pyproject"].write_text(PYPROJECT + "[tool.nanfix.rules.D104]\nfactor = 3\n")
        configfile.resolve(str(project["script"]), None, {})


def test_bad_pyproject_names_the_key_and_the_file(project):
    project["pyproject"].write_text(PYPROJECT.replace("seeds = 5", "seed = 5"))
    with pytest.raises(configfile.ConfigError, match=r"unknown key `seed`") as raised:
        configfile.resolve(str(project["script"]), None, {})
    assert str(project["pyproject"]) in str(raised.value)


@pytest.mark.parametrize(("text", "needle"), [("seeds: [1\n", "not valid YAML"),
                                              ("- seeds\n- steps\n", "must be a mapping")])
def test_malformed_config_files(bare_script, tmp_path, text, needle):
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    with pytest.raises(configfile.ConfigError, match=needle):
        configfile.resolve(str(bare_script), str(config), {})


def test_missing_config_file(bare_script, tmp_path):
    with pytest.raises(configfile.ConfigError, match="does not exist"):
        configfile.resolve(str(bare_script), str(tmp_path / "nope.yaml"), {})


# --- the CLI -----------------------------------------------------------------------------------


def test_config_command_shows_values_and_sources(project, nanfix_cli):
    process = nanfix_cli(["config", project["script"], "--config", project["config"], "--format", "json"],
                         cwd=project["root"])
    assert process.returncode == 0, process.stderr
    shown = json.loads(process.stdout)
    assert shown["settings"]["seeds"] == 5 and shown["settings"]["steps"] == 200
    assert shown["settings"]["thresholds"]["explode_factor"] == 20.0
    assert shown["sources"]["seeds"] == f"{project['pyproject']} [tool.nanfix]"
    assert shown["sources"]["steps"] == str(project["config"])
    assert shown["sources"]["eval_samples"] == "default"


def test_config_command_without_pyproject_settings(bare_script, nanfix_cli):
    process = nanfix_cli(["config", bare_script, "--format", "json"], cwd=bare_script.parent)
    assert process.returncode == 0, process.stderr
    shown = json.loads(process.stdout)
    assert shown["settings"] == Settings().to_dict()


@pytest.mark.parametrize("command", ["probe", "check"])
def test_bad_config_exits_2_before_running_anything(project, nanfix_cli, command):
    bad = project["root"] / "bad.yaml"
    bad.write_text(textwrap.dedent("""\
        seeds: 3
        stepz: 10
    """))
    started = time.monotonic()
    process = nanfix_cli([command, project["script"], "--config", bad, "--no-progress"], cwd=project["root"])
    assert process.returncode == exitcodes.USAGE
    message = flat(process.stderr)
    assert "stepz" in message and "bad.yaml" in message
    assert not (project["script"].parent / "ran.marker").exists()
    assert time.monotonic() - started < 30  # no TensorFlow start, no probing


def test_bad_value_in_pyproject_exits_2(project, nanfix_cli):
    project["pyproject"].write_text(PYPROJECT.replace('fail_on = "stalls"', 'fail_on = "sometimes"'))
    process = nanfix_cli(["check", project["script"], "--no-progress"], cwd=project["root"])
    assert process.returncode == exitcodes.USAGE
    assert "fail_on" in flat(process.stderr) and "sometimes" in flat(process.stderr)
    assert not (project["script"].parent / "ran.marker").exists()


def test_bad_flag_value_exits_2(project, nanfix_cli):
    process = nanfix_cli(["check", project["script"], "--fail-on", "never", "--no-progress"],
                         cwd=project["root"])
    assert process.returncode == exitcodes.USAGE
    assert "fail_on" in flat(process.stderr) or "--fail-on" in flat(process.stderr)
    assert not (project["script"].parent / "ran.marker").exists()


def test_missing_config_file_exits_2(bare_script, nanfix_cli):
    process = nanfix_cli(["probe", bare_script, "--config", "missing.yaml", "--no-progress"],
                         cwd=bare_script.parent)
    assert process.returncode == exitcodes.USAGE
    assert "missing.yaml" in flat(process.stderr)
