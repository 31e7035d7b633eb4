"""The sweep plan: which fix families to try and on which grids.

A plan comes from `--plan plan.yaml`, `[tool.nanfix]` in pyproject.toml or `--config`; all
three are checked here, so a typo in a family name gets the same message wherever it was
written. This module imports no TensorFlow: the command line checks a plan before it starts
the worker, and a bad plan is a usage error (exit 2), not a crashed run. The family names are
the fix catalog's own (`nanfix.fixes`, which loads without TensorFlow).

    families: [lr, input_scaling]     # try only these (default: every family that applies)
    grids:
      lr: [0.1, 0.01, 0.001]          # the values a family tries instead of its own grid
      epsilon: [0.001, 0.1]
    max_fixes: 12                     # the most candidates to probe
"""

from __future__ import annotations

import math
from typing import Any

from nanfix import fixes

PLAN_KEYS = {
    "families": "fix families to try, e.g. [lr, input_scaling, pairing]",
    "grids": "values per family, e.g. {lr: [0.1, 0.01], epsilon: [0.001], clipping: [1.0]}",
    "max_fixes": "the most candidates to probe",
    "seeds": "seeds per candidate",
    "steps": "training steps per seed",
}


class PlanError(ValueError):
    """A plan nanfix cannot use; the message says where and what to change."""


def load_plan(path: str) -> dict[str, Any]:
    """Read a plan YAML file into Settings fields, refusing unknown keys and families."""
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            plan = yaml.safe_load(handle)
    except OSError as error:
        raise PlanError(f"{path}: cannot read the plan: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise PlanError(f"{path}: not valid YAML: {error}") from None
    if plan is None:
        return {}
    if not isinstance(plan, dict):
        raise PlanError(f"{path}: a plan is a mapping of keys ({', '.join(PLAN_KEYS)}), "
                        f"not a {type(plan).__name__}")
    unknown = sorted(set(plan) - set(PLAN_KEYS))
    if unknown:
        allowed = "\n".join(f"  {key}: {meaning}" for key, meaning in PLAN_KEYS.items())
        raise PlanError(f"{path}: unknown key{'s' if len(unknown) > 1 else ''} "
                        f"{', '.join(repr(k) for k in unknown)}; a plan may have:\n{allowed}")
    out: dict[str, Any] = {}
    if "families" in plan:
        out["families"] = check_families(plan["families"], path)
    if "grids" in plan:
        out["grids"] = check_grids(plan["grids"], path)
    for key in ("max_fixes", "seeds", "steps"):
        if key in plan:
            value = plan[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise PlanError(f"{path}: {key} must be a positive whole number, got {value!r}")
            out[key] = value
    return out


def check_families(families: Any, where: str) -> list[str]:
    """A list of known family names (one name alone is accepted)."""
    names = fixes.by_priority()
    known = ", ".join(sorted(names))
    if isinstance(families, str):
        families = [families]
    if not isinstance(families, list) or not all(isinstance(f, str) for f in families):
        raise PlanError(f"{where}: families must be a list of names ({known})")
    wrong = [f for f in families if f not in names]
    if wrong:
        raise PlanError(f"{where}: unknown fix famil{'ies' if len(wrong) > 1 else 'y'} "
                        f"{', '.join(wrong)}; known: {known}")
    return families


def check_grids(grids: Any, where: str) -> dict[str, list[float]]:
    """Family name -> positive finite numbers (one number alone is accepted)."""
    names = fixes.by_priority()
    known = ", ".join(sorted(names))
    if not isinstance(grids, dict):
        raise PlanError(f"{where}: grids must map a family to a list of numbers")
    clean: dict[str, list[float]] = {}
    for name, values in grids.items():
        if name not in names:
            raise PlanError(f"{where}: grids: unknown fix family {name!r}; known: {known}")
        values = values if isinstance(values, list) else [values]
        if any(isinstance(value, bool) for value in values):
            raise PlanError(f"{where}: grids.{name} must be a list of numbers, got {values!r}")
        try:
            clean[name] = [float(value) for value in values]
        except (TypeError, ValueError):
            raise PlanError(f"{where}: grids.{name} must be a list of numbers, got {values!r}") from None
        if not clean[name] or any(not math.isfinite(v) or v <= 0 for v in clean[name]):
            raise PlanError(f"{where}: grids.{name} must be positive finite numbers, got {values!r}")
    return clean
