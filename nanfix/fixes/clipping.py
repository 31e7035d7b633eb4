"""The clipping family: bound each update (clipnorm, global_clipnorm, clipvalue).

Clipping stops one huge gradient from throwing the weights to Inf, but it does not remove
what made the gradient huge; it often turns a NaN into a stall. The sweep says so when it
happens ("no NaN, but nothing learned").
"""

from __future__ import annotations

from collections.abc import Sequence

from nanfix.fixes.catalog import Fix, family
from nanfix.fixes.helpers import optimizer_fix
from nanfix.probes.setup import TrainSetup
from nanfix.records import Finding

# The findings this family answers: the one place the link is declared.
ANSWERS = ("N701", "N702", "N703", "N704", "N705", "N707")
CLIP_KEYS = ("clipnorm", "global_clipnorm", "clipvalue")
DEFAULTS = (("clipnorm", 1.0), ("global_clipnorm", 1.0), ("clipvalue", 0.5))
TITLES = {
    "clipnorm": "Clip each gradient's norm to {value:g}",
    "global_clipnorm": "Clip the global gradient norm to {value:g}",
    "clipvalue": "Clip every gradient entry to ±{value:g}",
}


@family("clipping", "Clip gradients", answers=ANSWERS, priority=90)
def clipping(setup: TrainSetup, findings: list[Finding], grid: Sequence[float] | None) -> list[Fix]:
    settings = setup.optimizer_settings
    if not all(key in settings for key in CLIP_KEYS):
        return []
    choices = [("clipnorm", float(value)) for value in grid] if grid else list(DEFAULTS)
    fixes = []
    for key, value in choices:
        if settings.get(key) == value:
            continue
        # Keras allows only one of the three at a time
        change = {other: None for other in CLIP_KEYS if other != key and settings.get(other) is not None}
        change[key] = value
        fixes.append(optimizer_fix(setup, id=f"{key}-{value:g}", family="clipping",
                                   title=TITLES[key].format(value=value), settings=change,
                                   magnitude=1.0))
    return fixes
