"""The catalog's building blocks: a `Fix` (one concrete change), a `Family` of them, and the
registry that links findings to the families that answer them.

A family is one registered function that looks at the training setup and the findings and
proposes its concrete fixes (the learning-rate family proposes one fix per grid value). The
family declares, once, which finding codes it answers: that is the whole finding↔fix link
(`families_for`, `link`), so adding a family is one module and no rule changes. A `Fix` is
one description of one change: its source edits (`nanfix.fixes.source.edits`), which write
the diff, say the change in words and make the setup the probe trains, so what is measured
is what the diff writes. What a fix cannot be combined with follows from what its edits
touch (`Fix.conflicts`), never from a list kept elsewhere.

>>> from nanfix.fixes.source.edits import OptimizerEdit
>>> fix = Fix(id="clipnorm-1", family="clipping", title="Clip each gradient's norm to 1",
...           edits=(OptimizerEdit({"clipnorm": 1.0}),))
>>> swap = Fix(id="optimizer-adam", family="optimizer", title="Use Adam",
...            edits=(OptimizerEdit({"learning_rate": 0.001}, class_name="Adam"),))
>>> fix.conflicts(swap)  # a new optimizer class replaces the clipping it would set
True

This module imports no TensorFlow: `nanfix.config` checks family names in a plan before the
worker starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nanfix.fixes.source.edits import SourceEdit, conflict
from nanfix.probes.setup import TrainSetup, rebuildable
from nanfix.records import Finding


@dataclass(frozen=True)
class Fix:
    """One candidate change, described once by its edits: ready to apply, probe and write."""

    id: str
    family: str  # its family's name; a combination's is its parts' joined, for display only
    title: str
    edits: tuple[SourceEdit, ...]
    magnitude: float = 1.0  # how far the change moves the script: lr x0.1 = 1, x0.001 = 3
    note: str = ""  # what the report should add, e.g. what must change in the data
    parts: tuple[Fix, ...] = ()  # a combination's single fixes, in the order they apply
    # the setup the fix was proposed for: what its words are said against
    base: TrainSetup | None = field(default=None, compare=False, repr=False)

    @property
    def families(self) -> tuple[str, ...]:
        """The family, or for a combination the families of its parts."""
        return tuple(part.family for part in self.parts) or (self.family,)

    @property
    def part_ids(self) -> tuple[str, ...]:
        """A combination's parts by id (what a remote worker rebuilds it from)."""
        return tuple(part.id for part in self.parts)

    @property
    def data_fix(self) -> bool:
        """A change to the data itself: the only kind that can cure a data problem."""
        return any(name in FAMILIES and FAMILIES[name].data_fix for name in self.families)

    @property
    def answers(self) -> tuple[str, ...]:
        """The finding codes this fix answers: its family's (its parts' for a combination)."""
        codes: dict[str, None] = {}
        for name in self.families:
            if name in FAMILIES:
                codes.update(dict.fromkeys(FAMILIES[name].answers))
        return tuple(codes)

    @property
    def size(self) -> int:
        """How many edits the change needs (a combination counts all of its parts')."""
        return max(1, len(self.edits), len(self.parts))

    def __hash__(self) -> int:  # a fix is known by its id (its edits hold dicts)
        return hash(self.id)

    def apply(self, setup: TrainSetup) -> TrainSetup:
        """The setup as the patched script trains it: every edit made, in order, and the task
        read again from what they changed."""
        for edit in self.edits:
            setup = edit.apply_to(setup)
        return setup.retask().with_changes(label=self.id)

    @property
    def changes(self) -> tuple[str, ...]:
        """The change in the user's words, one line per edit ("SGD(learning_rate=3) →
        SGD(learning_rate=0.3)"), said by the edits against the setup the fix was proposed for."""
        if self.base is None:
            return ()
        return tuple(edit.describe(self.base) for edit in self.edits)

    def conflicts(self, other: Fix) -> bool:
        """Whether the two cannot be made together: an edit of one sets what an edit of the
        other sets differently, or replaces it whole (a new optimizer class and a clipping)."""
        return any(conflict(mine.touches(), theirs.touches())
                   for mine in self.edits for theirs in other.edits)

    def applies(self, setup: TrainSetup, findings: list[Finding]) -> bool:
        """Whether this fix makes sense for `setup` (its family would propose it)."""
        if self.parts:
            return True
        family = FAMILIES.get(self.family)
        return family is not None and any(fix.id == self.id for fix in family.fixes(setup, findings))


GridProposal = Callable[[TrainSetup, list[Finding], Sequence[float] | None], list[Fix]]


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    answers: tuple[str, ...]  # the finding codes this family answers: the one declaration
    priority: int  # where the family stands among those answering a finding: lower first
    propose: GridProposal
    model_edit: bool = False  # needs a rebuildable model
    data_fix: bool = False
    # the codes among `answers` whose cause this family removes rather than eases (a larger
    # epsilon removes Adam's collapse toward it; a lower rate only postpones it): tried first
    # for them, and the cause's own fix when the ranking weighs what answers the cause
    removes: tuple[str, ...] = ()

    def applies(self, setup: TrainSetup, findings: list[Finding]) -> bool:
        return bool(self.fixes(setup, findings))

    def fixes(self, setup: TrainSetup, findings: list[Finding],
              grid: Sequence[float] | None = None) -> list[Fix]:
        if self.model_edit and not rebuildable(setup.model):
            return []
        try:
            return self.propose(setup, findings, grid)
        except Exception:  # noqa: BLE001 - one family that cannot read an odd model must not sink the sweep
            return []


FAMILIES: dict[str, Family] = {}


def family(name: str, title: str, *, answers: Iterable[str], priority: int,
           model_edit: bool = False, data_fix: bool = False, removes: Iterable[str] = ()):
    """Register the decorated proposal function as fix family `name`.

    `answers`: the finding codes it answers; `priority`: its place among the families that
    answer the same finding (cheap, likely cures first: lr is 10, optimizer swaps 110);
    `removes`: the answered codes whose cause it removes rather than eases.
    """

    def register(propose: GridProposal) -> GridProposal:
        if name in FAMILIES:
            raise ValueError(f"fix family {name} registered twice")
        answered = tuple(answers)
        removed = tuple(removes)
        if set(removed) - set(answered):
            raise ValueError(f"fix family {name} removes codes it does not answer: {set(removed) - set(answered)}")
        FAMILIES[name] = Family(name, title, answered, priority, propose, model_edit, data_fix, removed)
        return propose

    return register


def by_priority() -> list[str]:
    """Every family name, the ones to try first first."""
    return sorted(FAMILIES, key=lambda name: (FAMILIES[name].priority, name))


def families_for(code: str) -> list[str]:
    """The families that answer finding `code`, in the order a sweep tries them: those that
    remove its cause first, then the others by priority."""
    answering = [name for name in by_priority() if code in FAMILIES[name].answers]
    return removers_of(code) + [name for name in answering if code not in FAMILIES[name].removes]


def removers_of(code: str) -> list[str]:
    """The families that remove finding `code`'s cause (not only ease it), by priority."""
    return [name for name in by_priority() if code in FAMILIES[name].removes]


def link(findings: Iterable[Finding]) -> list[Finding]:
    """Fill each finding's `fix_families` from the catalog (for the report); returns them."""
    findings = list(findings)
    for item in findings:
        item.fix_families = families_for(item.code)
    return findings


def family_order(findings: Iterable[Finding], allowed: Iterable[str] | None = None) -> list[str]:
    """Families in the order the findings ask for them (the most severe first and, at each
    severity, the causes before the symptoms), then the rest of the catalog by priority: the
    fixes that answer the diagnosed cause are probed before generic ones."""
    findings = sorted(findings, key=lambda f: (f.severity.order, not f.is_cause))
    order: list[str] = []
    for item in findings:
        order += [name for name in families_for(item.code) if name not in order]
    order += [name for name in by_priority() if name not in order]
    if allowed is not None:
        allowed = set(allowed)
        order = [name for name in order if name in allowed]
    return order


def candidates(setup: TrainSetup, findings: list[Finding], families: Iterable[str] | None = None,
               grids: dict[str, list] | None = None) -> list[Fix]:
    """Every applicable fix, families in `family_order`, each family's own order inside."""
    grids = grids or {}
    out = []
    for name in family_order(findings, families):
        out += FAMILIES[name].fixes(setup, findings, grids.get(name))
    return out


def plan(setup: TrainSetup, findings: list[Finding], settings: Any) -> list[Fix]:
    """The candidates to probe: interleaved across families so a cap keeps variety.

    Families come in `family_order`; we take each family's best fix first, then second
    ones, and so on, so `max_fixes` = 8 still tries eight different kinds of change rather
    than eight learning rates.
    """
    per_family: list[list[Fix]] = []
    grids = dict(getattr(settings, "grids", {}) or {})
    for name in family_order(findings, getattr(settings, "families", None)):
        proposed = FAMILIES[name].fixes(setup, findings, grids.get(name))
        if proposed:
            per_family.append(proposed)
    ordered: list[Fix] = []
    depth = 0
    while any(depth < len(group) for group in per_family):
        # the first family named by the findings gets two of its fixes per pass
        for index, group in enumerate(per_family):
            take = group[depth * 2:depth * 2 + 2] if index == 0 else group[depth:depth + 1]
            ordered += take
        depth += 1
    seen, unique = set(), []
    for fix in ordered:
        if fix.id not in seen:
            seen.add(fix.id)
            unique.append(fix)
    # a fix keeps the task: one that would drop classes or much of the data is no candidate
    thresholds = getattr(settings, "thresholds", None)
    if thresholds is not None:
        from nanfix.fixes.task_change import fix_changes_task

        unique = [fix for fix in unique if fix_changes_task(fix, setup, thresholds) is None]
    limit = getattr(settings, "max_fixes", None)
    return unique if limit is None else unique[:max(0, int(limit))]
