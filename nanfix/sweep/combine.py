"""Combinations: when no single fix cures, several changes are probed together.

Two causes at once (inputs and targets both far from unit scale, a wrong pairing and raw
pixels) yield only to both fixes together, and each alone still fails, so its measured progress
says nothing about whether it is needed. The order of trying is therefore the diagnosis's:

1. `for_causes`: one fix for each diagnosed cause (the pre-flight errors and warnings), the
   best measured of the families answering it, all of them together;
2. `with_other_causes`: a fix that cured some seeds but not all, with the fixes for the
   diagnosed causes it does not answer (a bounded activation cures the explosion on two
   seeds; the unscaled inputs still sink the third);
3. `leave_one_out`: once the all-causes combination cures, it without each of its parts, to
   find the ones that are needed (only for three parts or more: with two, each part alone was
   measured already);
4. `pairs`: the best partial fixes of different families in pairs, the generic fallback.
"""

from __future__ import annotations

from collections.abc import Iterable

from nanfix.fixes.catalog import Fix, families_for
from nanfix.records import Finding, ProbeResult, Severity
from nanfix.sweep.candidate import Candidate, progress, progress_of_runs

MAX_COMBINATIONS = 3  # generic pairs
MAX_PARTIAL = 2  # partial cures completed with the fixes for the other causes
COMBINE_FROM = 3  # the best partial fixes that are paired with each other


def singles(fixes: Iterable[Fix]) -> list[Fix]:
    """The single fixes the given fixes are made of (a combination's parts, in order)."""
    return [part for fix in fixes for part in (fix.parts or (fix,))]


def compatible(fixes: Iterable[Fix]) -> bool:
    """No two parts of one family, and no two whose edits disagree (`Fix.conflicts`: a new
    optimizer class and a clipping of the old one, two losses)."""
    parts = singles(fixes)
    names = [part.family for part in parts]
    if len(set(names)) != len(names):
        return False
    return not any(first.conflicts(second) for i, first in enumerate(parts) for second in parts[i + 1:])


def combine(*fixes: Fix) -> Fix:
    """All the changes as one fix: a repair of the data's rows first (a scaling must see the
    repaired rows), then the parts in the order given."""
    parts = sorted(singles(fixes), key=lambda part: not any(edit.first for edit in part.edits))
    if len(parts) == 1:
        return parts[0]
    rest = [f"{fix.title[:1].lower()}{fix.title[1:]}" for fix in parts[1:]]
    return Fix(id="+".join(fix.id for fix in parts),
               family="+".join(fix.family for fix in parts),
               title="; and ".join([parts[0].title, *rest]),
               edits=tuple(edit for fix in parts for edit in fix.edits),
               magnitude=sum(fix.magnitude for fix in parts),
               note=next((fix.note for fix in parts if fix.note), ""),
               parts=tuple(parts), base=parts[0].base)


def diagnosed_causes(findings: list[Finding]) -> list[Finding]:
    """The causes (pre-flight, or measured) that are errors or warnings, most severe first:
    the independent causes."""
    causes = [item for item in findings if item.is_cause and item.severity in (Severity.ERROR, Severity.WARNING)]
    return sorted(causes, key=lambda item: (item.severity is not Severity.ERROR, item.code))


def cause_fixes(candidates: list[Candidate], findings: list[Finding]) -> dict[str, Candidate]:
    """For each diagnosed cause not yet answered, the best measured single fix of a family
    answering it (distinct families, compatible with the ones chosen): cause code → candidate."""
    singles = [c for c in candidates if not c.error and c.runs and not c.fix.parts]
    chosen: dict[str, Candidate] = {}
    for cause in diagnosed_causes(findings):
        families = families_for(cause.code)
        answering = [c for c in singles if c.fix.family in families]
        if any(c in chosen.values() for c in answering):
            continue  # a fix chosen for another cause answers this one too
        answering = [c for c in answering if compatible([c.fix, *(o.fix for o in chosen.values())])]
        if answering:
            # the best measured; at equal progress the family the catalog tries first
            chosen[cause.code] = max(answering, key=lambda c: (progress(c), -families.index(c.fix.family)))
    return chosen


def for_causes(chosen: dict[str, Candidate]) -> list[Fix]:
    """One fix per diagnosed cause (`cause_fixes`), all together (for two causes or more)."""
    if len(chosen) < 2:
        return []
    return [combine(*(c.fix for c in chosen.values()))]


def with_other_causes(candidates: list[Candidate], chosen: dict[str, Candidate],
                      findings: list[Finding], seeds: int) -> list[Fix]:
    """The fixes that cured some seeds but not all, each with the fixes for the diagnosed
    causes (`cause_fixes`: `chosen`) its family does not answer."""
    causes = diagnosed_causes(findings)
    partial = [c for c in candidates if not c.error and any(run.ok for run in c.runs)
               and not (c.healthy and len(c.runs) == seeds)]
    partial.sort(key=progress, reverse=True)
    out: list[Fix] = []
    for candidate in partial:
        answered = {code for code, fix in chosen.items() if fix is candidate}
        answered |= {item.code for item in causes
                     if set(candidate.fix.families) & set(families_for(item.code))}
        others = [c.fix for code, c in chosen.items() if code not in answered and c is not candidate]
        if others and compatible([candidate.fix, *others]):
            out.append(combine(candidate.fix, *others))
        if len(out) == MAX_PARTIAL:
            break
    return out


def leave_one_out(combination: Fix, parts: dict[str, Fix]) -> list[Fix]:
    """The combination without each of its parts (for three parts or more)."""
    ids = list(combination.part_ids)
    if len(ids) < 3 or any(part not in parts for part in ids):
        return []
    return [combine(*(parts[other] for other in ids if other != left)) for left in ids]


def pairs(candidates: list[Candidate], baseline: ProbeResult | None) -> list[Fix]:
    """Pairs of the best partial fixes from different families (at most MAX_COMBINATIONS)."""
    base_progress = progress_of_runs(list(baseline.runs) if baseline else [])
    # better than the baseline first; when nothing is, still the best of each family: two
    # causes at once (a wrong pairing and raw pixels) only yield to both changes together
    partial = [c for c in candidates if not c.error and c.runs and not c.fix.parts]
    partial.sort(key=lambda c: (progress(c) > base_progress, progress(c)), reverse=True)
    chosen: list[Candidate] = []
    for candidate in partial:
        if all(candidate.fix.family != other.fix.family for other in chosen):
            chosen.append(candidate)
        if len(chosen) == COMBINE_FROM:
            break
    out = []
    for i, first in enumerate(chosen):
        for second in chosen[i + 1:]:
            if compatible([first.fix, second.fix]):
                out.append(combine(first.fix, second.fix))
    return out[:MAX_COMBINATIONS]
