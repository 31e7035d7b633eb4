"""The momentum family: a momentum of 1 or more (O504) brought back to the usual 0.9.

A velocity that never decays adds up every past gradient, so the steps grow and the loss
swings ever wider. The values tried stay below the limit O504 judged the script's momentum by
(read from the finding, so a `[tool.nanfix.rules.momentum-not-below-one]` override moves
both).
"""

from __future__ import annotations

from collections.abc import Sequence

from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.helpers import answered, number, optimizer_fix
from nanfix.probes.setup import TrainSetup
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("O504",)
USUAL = (0.9,)


@family("momentum", "Use a usual momentum", answers=ANSWERS, priority=15)
def momentum(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    found = answered(findings, "O504")
    current = number(setup.optimizer_settings.get("momentum"))
    if not found or current is None:
        return []
    limit = found[0].evidence["limits"]["momentum"]
    return [optimizer_fix(setup, id=f"momentum-{value:g}", family="momentum",
                          title=f"Momentum {value:g} (not {current:g})", settings={"momentum": float(value)})
            for value in (grid or USUAL) if 0 <= value < limit and value != current]
