"""The regularization family: an l1/l2 penalty factor that outweighs the data, made usual.

A factor of 10 on l2 makes the penalty, summed over every weight, thousands of times the data
loss: the model shrinks to a constant. 1e-4 keeps a little regularisation (the usual range
is 1e-5 .. 1e-3); the change keeps the regularizer's kind (L1, L2 or both).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.helpers import answered, layers_of
from nanfix.fixes.source.edits import LayerEdit
from nanfix.fixes.source.text import Code
from nanfix.probes.setup import TrainSetup
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("M404", "S801", "S802", "S803")
USUAL = 1e-4


def _factors(config: Any) -> dict[str, float]:
    if not isinstance(config, dict) or config.get("class_name") not in ("L1", "L2", "L1L2"):
        return {}
    return {name: float(value) for name, value in (config.get("config") or {}).items()
            if name in ("l1", "l2") and isinstance(value, (int, float)) and value > 0}


@family("regularization", "Use a usual regularisation factor", answers=ANSWERS, priority=65,
        model_edit=True)
def regularization(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    """The regularizers M404 found dominant (its evidence names each layer and argument), each
    given a usual factor; without that finding there is nothing to make usual."""
    value = float(grid[0]) if grid else USUAL
    configs = {layer["config"]["name"]: layer["config"] for layer in layers_of(setup)}
    per_layer: dict[str, dict[str, Code]] = {}
    for item in answered(findings, "M404"):
        for heavy in item.evidence.get("regularizers", []):
            regularizer = configs.get(heavy["layer"], {}).get(heavy["key"])
            factors = _factors(regularizer)
            if not factors:
                continue
            arguments = ", ".join(f"{name}={value:g}" for name in factors)
            per_layer.setdefault(heavy["layer"], {})[heavy["key"]] = Code(
                "{keras}.regularizers." + f"{regularizer['class_name']}({arguments})")
    if not per_layer:
        return []
    return [Fix(base=setup, id=f"regularization-{value:g}", family="regularization",
                title=f"Regularisation factor {value:g} instead of the dominant one",
                edits=tuple(LayerEdit(name, settings) for name, settings in per_layer.items()),
                magnitude=1.0)]
