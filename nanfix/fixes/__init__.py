"""The catalog of fixes. Importing this package registers every family.

Each family is one module (lr, epsilon, input_scaling, target_scaling, pairing, clipping,
init, activation, data, stable_loss, optimizer) with one registered function that proposes
concrete `Fix`es for a training setup. `plan` picks and orders the candidates a sweep
probes: first the fixes that answer the findings (in the findings' order, through each
finding's `fix_families` and each family's answered codes), then the rest of the catalog,
within `Settings.families`, `Settings.grids` and `Settings.max_fixes`.

Example::

    from nanfix import fixes
    for fix in fixes.plan(setup, findings, settings):
        trainer = build_trainer(fix.apply(setup))
"""

from __future__ import annotations

from collections.abc import Iterable

from nanfix.fixes import (  # noqa: F401 - importing registers the families
    activation,
    clipping,
    data,
    epsilon,
    init,
    input_scaling,
    lr,
    optimizer,
    pairing,
    stable_loss,
    target_scaling,
)
from nanfix.fixes.base import DATA_PROBLEM_CODES, FAMILIES, Family, Fix, family
from nanfix.results import Finding, Severity
from nanfix.trainsetup import TrainSetup

# Families tried when no finding points anywhere: cheap, likely cures first, fallbacks last.
DEFAULT_ORDER = ("lr", "input_scaling", "pairing", "activation", "stable_loss", "data", "init",
                 "target_scaling", "clipping", "epsilon", "optimizer")
SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def family_order(findings: Iterable[Finding], allowed: Iterable[str] | None = None) -> list[str]:
    """Families in the order the findings ask for them, then the rest of the catalog."""
    findings = sorted(findings, key=lambda f: SEVERITY_ORDER.get(f.severity, 3))
    order: list[str] = []
    for finding in findings:
        named = list(finding.fix_families)
        named += [name for name in DEFAULT_ORDER if finding.code in FAMILIES[name].answers]
        for name in named:
            if name in FAMILIES and name not in order:
                order.append(name)
    order += [name for name in DEFAULT_ORDER if name not in order]
    order += [name for name in FAMILIES if name not in order]
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


def plan(setup: TrainSetup, findings: list[Finding], settings) -> list[Fix]:
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
    limit = getattr(settings, "max_fixes", None)
    return unique if limit is None else unique[:max(0, int(limit))]


__all__ = ["DATA_PROBLEM_CODES", "FAMILIES", "Family", "Fix", "candidates", "family",
           "family_order", "plan"]
