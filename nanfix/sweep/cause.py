"""The diagnosed cause: which fix families answer it (for the ranking) and which finding the
report names as the likely cause (confirmed by the best measured cure when there is one).

A cause is a pre-flight finding (`Finding.is_cause`): it says why training fails. Probe
findings are symptoms: they say what happened, so they name the cause only when nothing
read before training did.
"""

from __future__ import annotations

from nanfix.findings.catalog import verdict_symptoms
from nanfix.fixes.catalog import families_for, removers_of
from nanfix.records import Finding, FixOutcome, FixResult, LikelyCause, Severity


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
    for symptom in verdict_symptoms(findings):
        if families_for(symptom.code):
            return {families_for(symptom.code)[0]}
    return set()


def likely_cause(findings: list[Finding], fixes: list[FixResult]) -> LikelyCause | None:
    """The cause the best measured cure answers; else the most severe pre-flight error; else
    the symptom that is the verdict."""
    best = next((fix for fix in fixes if fix.outcome is FixOutcome.CURES), None)
    if best is not None:
        for item in findings:
            if item.is_cause and set(best.families) & set(families_for(item.code)):
                return _named(item, confirmed_by=best.id)
    for item in findings:
        if item.is_cause and item.severity is Severity.ERROR:
            return _named(item)
    symptoms = verdict_symptoms(findings)
    return _named(symptoms[0]) if symptoms else None


def _named(item: Finding, confirmed_by: str | None = None) -> LikelyCause:
    return LikelyCause(code=item.code, title=item.title, message=item.message,
                       confirmed_by=confirmed_by)
