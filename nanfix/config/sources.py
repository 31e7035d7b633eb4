"""Where settings come from: defaults < [tool.nanfix] in pyproject.toml < --config < flags.

pyproject.toml is searched from the script's directory upward, so a CI run in a repository
gets the repository's settings without flags, and the same seeds give the same verdict.
Unknown keys and bad values are errors that name the key (exit 2): a typo in CI config must
not silently fall back to a default.

    [tool.nanfix]
    seeds = 3
    steps = 300
    time_limit = 120
    fail_on = "diverges"
    families = ["lr", "clipping"]
    [tool.nanfix.grids]
    lr = [0.1, 0.01]
    [tool.nanfix.thresholds]
    explode_factor = 100
    [tool.nanfix.rules.dominant-regularization]   # a rule's own limits, by its name or code
    factor = 0.5
"""

from __future__ import annotations

import os
from dataclasses import fields
from typing import Any

import yaml

from nanfix.config import Settings, Thresholds
from nanfix.config import plan as fixplan

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = None  # type: ignore[assignment]

SETTING_KEYS = {f.name for f in fields(Settings)} - {"thresholds", "rules"}
THRESHOLD_KEYS = {f.name for f in fields(Thresholds)}
CHOICES = {"fail_on": ("diverges", "stalls", "any"), "executor": ("local", "ray")}


class ConfigError(Exception):
    pass


def find_pyproject(start: str | None) -> str | None:
    directory = os.path.dirname(os.path.abspath(start)) if start else os.getcwd()
    while True:
        candidate = os.path.join(directory, "pyproject.toml")
        if os.path.exists(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _pyproject_section(path: str) -> dict[str, Any]:
    if tomllib is None:
        return {}
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path} could not be read: {error}") from None
    return data.get("tool", {}).get("nanfix", {}) or {}


def _yaml_file(path: str) -> dict[str, Any]:
    if not os.path.exists(path):
        raise ConfigError(f"config file {path} does not exist")
    try:
        with open(path) as handle:
            data = yaml.safe_load(handle) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must be a mapping of settings (seeds, steps, ...)")
    return data.get("nanfix", data) if isinstance(data.get("nanfix"), dict) else data


def resolve(script: str | None, config_file: str | None, flags: dict[str, Any],
            pyproject: bool = True) -> tuple[Settings, dict[str, str]]:
    """The effective Settings and, for each key, where its value came from (`pyproject`
    False: no [tool.nanfix] is read, as for a model in memory)."""
    values = Settings().to_dict()
    sources = {key: "default" for key in values if key not in ("thresholds", "rules")}
    sources.update({f"thresholds.{key}": "default" for key in THRESHOLD_KEYS})
    sources.update({f"rules.{code}.{name}": "default" for code, entry in _rules().items()
                    for name in entry.limits})
    found = find_pyproject(script) if pyproject else None
    if found:
        _merge(values, sources, _pyproject_section(found), f"{found} [tool.nanfix]")
    if config_file:
        _merge(values, sources, _yaml_file(config_file), config_file)
    plan = flags.pop("plan", None)
    if plan:
        _merge(values, sources, _plan(plan), plan)
    _merge(values, sources, {k: v for k, v in flags.items() if v is not None}, "command line")
    if sources["steps"] != "default" and sources["steps_follow_fit"] == "default":
        values["steps_follow_fit"] = False  # steps asked for are steps probed
    return Settings.from_dict(values), sources


def _plan(path: str) -> dict[str, Any]:
    if not os.path.exists(path):
        raise ConfigError(f"plan file {path} does not exist")
    try:
        return fixplan.load_plan(path)
    except fixplan.PlanError as error:
        raise ConfigError(str(error)) from None


def _merge(values: dict[str, Any], sources: dict[str, str], new: dict[str, Any], origin: str) -> None:
    for key, value in new.items():
        key = key.replace("-", "_")
        if key == "thresholds":
            if not isinstance(value, dict):
                raise ConfigError(f"{origin}: `thresholds` must be a table of numbers")
            for name, number in value.items():
                name = name.replace("-", "_")
                if name not in THRESHOLD_KEYS:
                    raise ConfigError(f"{origin}: unknown key `thresholds.{name}`; known: "
                                      f"{', '.join(sorted(THRESHOLD_KEYS))}")
                values["thresholds"][name] = _number(origin, f"thresholds.{name}", number, float)
                sources[f"thresholds.{name}"] = origin
            continue
        if key == "rules":
            _merge_rules(values, sources, value, origin)
            continue
        if key not in SETTING_KEYS:
            raise ConfigError(f"{origin}: unknown key `{key}`; known keys: "
                              f"{', '.join(sorted(SETTING_KEYS | {'thresholds', 'rules'}))}")
        values[key] = _check(origin, key, value, values[key])
        sources[key] = origin


def _rules() -> dict[str, Any]:
    from nanfix import findings

    return findings.RULES


def _merge_rules(values: dict[str, Any], sources: dict[str, str], table: Any, origin: str) -> None:
    """`[tool.nanfix.rules.<rule name or code>]`: a table of that rule's own limits."""
    if not isinstance(table, dict):
        raise ConfigError(f"{origin}: `rules` must be a table of rules, each a table of its limits")
    catalog = _rules()
    by_name = {entry.name: entry for entry in catalog.values()}
    for key, limits in table.items():
        entry = catalog.get(str(key).upper()) or by_name.get(str(key).replace("_", "-"))
        if entry is None:
            raise ConfigError(f"{origin}: unknown rule `rules.{key}`; `nanfix rules` lists them "
                              "(a code such as M404 or a name such as dominant-regularization)")
        if not isinstance(limits, dict):
            raise ConfigError(f"{origin}: `rules.{key}` must be a table of limits "
                              f"({', '.join(entry.limits) or 'this rule has none'})")
        for name, number in limits.items():
            if name not in entry.limits:
                known = ", ".join(entry.limits) or "none"
                raise ConfigError(f"{origin}: rule {entry.code} ({entry.name}) has no limit "
                                  f"`{name}`; its limits: {known}")
            values["rules"].setdefault(entry.code, {})[name] = _number(
                origin, f"rules.{key}.{name}", number, float)
            sources[f"rules.{entry.code}.{name}"] = origin


def _check(origin: str, key: str, value: Any, default: Any) -> Any:
    if key in CHOICES:
        if value not in CHOICES[key]:
            raise ConfigError(f"{origin}: `{key}` must be one of {', '.join(CHOICES[key])} (got {value!r})")
        return value
    if key in ("families", "grids"):
        check = fixplan.check_families if key == "families" else fixplan.check_grids
        try:
            return check(value, origin)
        except fixplan.PlanError as error:
            raise ConfigError(str(error)) from None
    if isinstance(default, bool) or key == "sweeps":
        if not isinstance(value, bool):
            raise ConfigError(f"{origin}: `{key}` must be true or false (got {value!r})")
        return value
    if key in ("seeds", "steps", "max_samples", "eval_samples", "memory_limit_mb", "max_fixes",
               "batch_size", "sweep_steps", "workers"):
        number = _number(origin, key, value, int)
        if number < 1:
            raise ConfigError(f"{origin}: `{key}` must be at least 1 (got {value!r})")
        return number
    if key == "script_seed":
        number = _number(origin, key, value, int)
        if number < 0:
            raise ConfigError(f"{origin}: `script_seed` must be 0 or more (got {value!r})")
        return number
    if key == "time_limit":
        number = _number(origin, key, value, float)
        if number <= 0:
            raise ConfigError(f"{origin}: `{key}` must be positive seconds (got {value!r})")
        return number
    if key == "address" and not isinstance(value, str):
        raise ConfigError(f"{origin}: `address` must be a Ray cluster's address, e.g. "
                          f"\"ray://head:10001\" (got {value!r})")
    return value


def _number(origin: str, key: str, value: Any, kind: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{origin}: `{key}` must be a number (got {value!r})")
    if kind is int and float(value) != int(value):
        raise ConfigError(f"{origin}: `{key}` must be a whole number (got {value!r})")
    return kind(value)
