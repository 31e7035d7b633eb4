"""The diagnosed cause: which fix families answer it (for the ranking) and which finding the
report names as the likely cause (confirmed by the best measured cure when there is one).

A cause is a pre-flight finding (`Finding.is_cause`): it says why training fails. Probe
findings are symptoms: they say what happened, so they name the cause only when nothing
read before training did.
"""

from __future__ import annotations

from nanfix.fixes.catalog import families_for, removers_of
from nanfix.records import Finding, FixOutcome, FixResult, LikelyCause, Severity

# The symptoms that are the verdict itself, in the order they explain it: named as the likely
# cause only when no pre-flight finding is an error.
VERDICT_SYMPTOMS = ("N701", "N703", "N707", "S801", "S802", "S803")


def cause_families(findings: list[Finding]) -> set[str]:
    """The fix families that answer the diagnosed cause: the pre-flight errors (else warnings).

    With no pre-flight cause, the symptom that is the verdict is the diagnosis, and the family
    the catalog tries first for it is its direct cause (a divergence nothing read before
    training explains is the step size's: a lower rate removes it, clipping hides it)."""
    causes = [f for f in findings if f.is_cause]
    for severity in (Severity.ERROR, Severity.WARNING):
        # a cause some family removes is answered by that family; the others only ease it
        families = {name for f in causes if f.severity is severity
                    for name in (removers_of(f.code) or families_for(f.code))}
        if families:
            return families
    found = {f.code for f in findings}
    for code in VERDICT_SYMPTOMS:
        if code in found and families_for(code):
            return {families_for(code)[0]}
    return set()


def likely_cause(findings: list[Finding], fixes: list[FixResult]) -> LikelyCause | None:
    """The cause the best measured cure answers; else the most severe pre-flight error; else
    the symptom that is the verdict."""
    best = next((fix for fix in fixes if fix.outcome is FixOutcome.CURES), None)
    if best is not None:
        for item in findings:
            if item.is_cause and best.family in families_for(item.code):
                return _named(item, confirmed_by=best.id)
    for item in findings:
        if item.is_cause and item.severity is Severity.ERROR:
            return _named(item)
    by_code = {item.code: item for item in findings}
    for code in VERDICT_SYMPTOMS:
        if code in by_code:
            return _named(by_code[code])
    return None


def _named(item: Finding, confirmed_by: str | None = None) -> LikelyCause:
    return LikelyCause(code=item.code, title=item.title, message=item.message,
                       confirmed_by=confirmed_by)
