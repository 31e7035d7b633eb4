"""Combinations: when no single fix cures, the best partial fixes of different families are
probed in pairs (two causes at once, a wrong pairing and raw pixels, only yield to both).
"""

from __future__ import annotations

from nanfix.fixes.catalog import Fix
from nanfix.records import ProbeResult
from nanfix.sweep.candidate import Candidate, score, score_runs

MAX_COMBINATIONS = 3
COMBINE_FROM = 3  # the best partial fixes that are paired with each other
# An optimizer swap replaces the whole optimizer config: pairing it with a change to that
# config would undo one of the two.
INCOMPATIBLE = {frozenset({"optimizer", "lr"}), frozenset({"optimizer", "clipping"}),
                frozenset({"optimizer", "epsilon"}), frozenset({"pairing", "stable_loss"})}


def combine(first: Fix, second: Fix) -> Fix:
    """Both changes, the first applied first; an optimizer swap always goes first."""
    if second.family == "optimizer":
        first, second = second, first
    return Fix(id=f"{first.id}+{second.id}", family=f"{first.family}+{second.family}",
               title=f"{first.title}; and {second.title[:1].lower()}{second.title[1:]}",
               transform=lambda setup: second.transform(first.transform(setup)),
               changes=first.changes + second.changes, edits=first.edits + second.edits,
               magnitude=first.magnitude + second.magnitude,
               data_fix=first.data_fix or second.data_fix,
               note=first.note or second.note, parts=(first.id, second.id),
               part_families=(*first.families, *second.families))


def combinations(candidates: list[Candidate], baseline: ProbeResult | None) -> list[Fix]:
    """Pairs of the best partial fixes from different families (at most MAX_COMBINATIONS)."""
    base_score = _baseline_score(baseline)
    # better than the baseline first; when nothing is, still the best of each family: two
    # causes at once (a wrong pairing and raw pixels) only yield to both changes together
    partial = [c for c in candidates if not c.error and c.runs]
    partial.sort(key=lambda c: (score(c) > base_score, score(c)), reverse=True)
    chosen: list[Candidate] = []
    for candidate in partial:
        if all(candidate.fix.family != other.fix.family for other in chosen):
            chosen.append(candidate)
        if len(chosen) == COMBINE_FROM:
            break
    pairs = []
    for i, first in enumerate(chosen):
        for second in chosen[i + 1:]:
            if frozenset({first.fix.family, second.fix.family}) in INCOMPATIBLE:
                continue
            pairs.append(combine(first.fix, second.fix))
    return pairs[:MAX_COMBINATIONS]


def _baseline_score(baseline: ProbeResult | None) -> tuple:
    return score_runs(list(baseline.runs) if baseline else [])
