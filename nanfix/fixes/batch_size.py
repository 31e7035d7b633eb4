"""The batch-size family: a larger batch where one or two samples a step make it swing.

With batch_size=1 every step follows one sample's gradient; with heavy momentum those steps
add up past the minimum and the loss oscillates. 32 samples a step average the noise out at
the same learning rate. The probe counts steps, so a larger batch also sees more data in the
same budget, as the user's epochs would: an epoch of n samples is n / 32 steps instead of n.
"""

from __future__ import annotations

from collections.abc import Sequence

from nanfix.capture.training_data import first_array
from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.helpers import codes
from nanfix.fixes.source.edits import FitEdit
from nanfix.probes.setup import TrainSetup
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("O502", "S804")
LARGER = (32, 128)
TINY = 4  # batches up to this size are worth enlarging without a finding that asks for it


@family("batch_size", "Use a larger batch", answers=ANSWERS, priority=45)
def batch_size(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    current = int(setup.data.batch_size or 32)
    samples = int(first_array(setup.data.x).shape[0])
    asked = bool(codes(findings) & set(ANSWERS))
    if not grid and not (asked or current <= TINY):
        return []
    fixes = []
    for value in [int(v) for v in (grid or LARGER)]:
        value = min(value, samples)
        if value <= current or any(fix.id == f"batch-{value}" for fix in fixes):
            continue

        fixes.append(Fix(base=setup, id=f"batch-{value}", family="batch_size",
                         title=f"Use batches of {value} samples (not {current})",
                         edits=(FitEdit({"batch_size": value}),),
                         magnitude=0.5 if value == LARGER[0] else 1.0))
    return fixes
