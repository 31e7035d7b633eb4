"""The regularization family: an l1/l2 penalty factor that outweighs the data, made usual.

A factor of 10 on l2 makes the penalty, summed over every weight, thousands of times the data
loss: the model shrinks to a constant. 1e-4 keeps a little regularisation (the usual range
is 1e-5 .. 1e-3); the change keeps the regularizer's kind (L1, L2 or both).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nanfix.config import Thresholds
from nanfix.findings.model import REGULARIZER_KEYS
from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.helpers import describe_layer, edit_layers, layers_of
from nanfix.fixes.source.edits import LayerEdit
from nanfix.fixes.source.text import Code
from nanfix.probes.setup import TrainSetup
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("M404", "S801", "S802", "S803")
USUAL = 1e-4
LIMIT = Thresholds.regularization_limit  # the factor from which M404 calls a penalty dominant


def _factors(config: Any) -> dict[str, float]:
    if not isinstance(config, dict) or config.get("class_name") not in ("L1", "L2", "L1L2"):
        return {}
    return {name: float(value) for name, value in (config.get("config") or {}).items()
            if name in ("l1", "l2") and isinstance(value, (int, float)) and value > 0}


@family("regularization", "Use a usual regularisation factor", answers=ANSWERS, priority=65,
        model_edit=True)
def regularization(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    value = float(grid[0]) if grid else USUAL
    layer_changes: dict[str, dict[str, Any]] = {}
    changes, edits = [], []
    for layer in layers_of(setup):
        config = layer.get("config", {})
        settings: dict[str, Any] = {}
        source: dict[str, Any] = {}
        parts = []
        for key in REGULARIZER_KEYS:
            factors = _factors(config.get(key))
            if not factors or max(factors.values()) < LIMIT:
                continue
            kind = config[key]["class_name"]
            new = {name: value for name in factors}
            settings[key] = {**config[key], "config": {**config[key]["config"], **new}}
            arguments = ", ".join(f"{name}={value:g}" for name in new)
            source[key] = Code("{keras}.regularizers." + f"{kind}({arguments})")
            parts.append(f"{key} {kind}({', '.join(f'{n}={f:g}' for n, f in factors.items())}) → "
                         f"{kind}({arguments})")
        if settings:
            layer_changes[config["name"]] = settings
            changes.append(f"{describe_layer(setup, layer)}: " + ", ".join(parts))
            edits.append(LayerEdit(config["name"], source))
    if not layer_changes:
        return []
    return [Fix(id=f"regularization-{value:g}", family="regularization",
                title=f"Regularisation factor {value:g} instead of the dominant one",
                transform=lambda s: s.edit_model(edit_layers(layer_changes)),
                changes=tuple(changes), edits=tuple(edits), magnitude=1.0)]
