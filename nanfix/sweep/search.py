"""The fix sweep: choose candidates from the findings, probe them, judge and rank them.

`find_fixes` is what `nanfix probe` runs when the baseline diverges or stalls:

1. the plan: the fixes that answer the findings first, then the rest of the catalog
   (`nanfix.fixes.plan`, within `Settings.families`, `Settings.grids`, `Settings.max_fixes`);
2. successive halving (`halving.py`): every candidate trains on the seed the baseline failed
   first, with the full step budget, stopping at once when it goes non-finite or explodes;
   only the ones that ended healthy go on to the remaining seeds (then the ones that at
   least learned), within the budget in probed steps (`budget.py`);
3. when no single fix cures, the best partial fixes are combined in pairs (`combine.py`);
4. each candidate's outcome is judged against the baseline on the same seeds (`judge.py`):
   `cures`, `improves` or `fails`, with a note in plain words; a data problem is cured only
   by a data fix;
5. the results are ranked (`rank.py`) and get their diff and snippet (`nanfix.fixes.source`).

The deadline is checked before each candidate and inside each probe; when time runs out we
stop and report what was measured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from nanfix import findings as finding_catalog
from nanfix import fixes as catalog
from nanfix.config import Settings
from nanfix.findings.catalog import Context
from nanfix.fixes.data_repair import data_problem
from nanfix.fixes.source.diff import render
from nanfix.probe.run import Deadline
from nanfix.probe.setup import TrainSetup
from nanfix.records import Finding, FixResult, ProbeResult, Stage
from nanfix.sweep import rank
from nanfix.sweep.budget import Budget
from nanfix.sweep.candidate import Candidate, restoring_compile, seed_order
from nanfix.sweep.cause import cause_families
from nanfix.sweep.combine import combinations
from nanfix.sweep.halving import probe_candidates, verify_halted
from nanfix.sweep.judge import judge

Emit = Callable[[dict[str, Any]], None]


def with_symptoms(setup: TrainSetup, baseline: ProbeResult | None, findings: list[Finding],
                  settings: Settings, capture: Any = None) -> list[Finding]:
    """The findings, plus the probe findings (the symptoms) when the caller ran only pre-flight."""
    if baseline is None or any(not item.is_cause for item in findings):
        return list(findings)
    try:
        context = Context(model=setup.model, optimizer=None, loss=setup.loss, task=setup.task,
                          data=setup.data, settings=settings, capture=capture, baseline=baseline)
        extra = [item for item in finding_catalog.run(Stage.PROBE, context)
                 if item.code != finding_catalog.BROKEN_CHECK]
    except Exception:  # noqa: BLE001 - the sweep works without them
        extra = []
    return list(findings) + extra


def find_fixes(setup: TrainSetup, baseline: ProbeResult | None, findings: list[Finding],
               settings: Settings, deadline: Deadline, emit: Emit | None,
               capture: Any = None, sweep_report: dict[str, Any] | None = None) -> list[FixResult]:
    """Probe the candidate fixes for this setup and return them measured and ranked;
    `sweep_report`, when given, receives what the budget allowed and spent."""
    with restoring_compile(setup):
        return _find_fixes(setup, baseline, findings, settings, deadline, emit, capture, sweep_report)


def _find_fixes(setup: TrainSetup, baseline: ProbeResult | None, findings: list[Finding],
                settings: Settings, deadline: Deadline, emit: Emit | None,
                capture: Any, sweep_report: dict[str, Any] | None) -> list[FixResult]:
    emit = emit or (lambda event: None)
    started = time.perf_counter()
    findings = with_symptoms(setup, baseline, findings, settings, capture)
    problem = data_problem(setup, findings)
    fixes = catalog.plan(setup, findings, settings)
    causes = cause_families(findings)
    budget = Budget.for_sweep(setup, settings)
    emit({"event": "phase", "phase": f"trying fixes: a budget of {budget.total} probed steps"})
    seeds = seed_order(baseline, settings)
    candidates = probe_candidates(fixes, setup, seeds, settings, deadline, emit, budget,
                                  causes=causes)
    # nothing cured: verifying the halted healthy candidates, then combining, is worth going
    # past the budget (not past the deadline)
    verify_halted(candidates, setup, seeds, settings, deadline, emit, budget, causes=causes)
    if not any(c.healthy and len(c.runs) == len(seeds) for c in candidates) and not deadline.passed():
        pairs = combinations(candidates, baseline)
        if pairs:
            emit({"event": "phase", "phase": "combining the best partial fixes"})
            combined = Budget(total=None, steps=settings.steps)
            candidates += probe_candidates(pairs, setup, seeds, settings, deadline, emit, combined,
                                           start_index=len(fixes), total=len(fixes) + len(pairs),
                                           causes=causes)
            budget.spent += combined.spent
            budget.cut_by_deadline |= combined.cut_by_deadline
    results = [to_result(candidate, baseline, setup, problem, len(seeds), settings, capture)
               for candidate in candidates]
    magnitudes = {c.fix.id: c.fix.magnitude for c in candidates}
    ranked = rank.rank(results, setup.task, magnitudes, causes, thresholds=settings.thresholds)
    if sweep_report is not None:
        sweep_report.update(budget.describe())
    emit({"event": "sweep_cost", "candidates": len(candidates),
          "elapsed_s": round(time.perf_counter() - started, 3),
          "build_s": round(sum(c.build_s for c in candidates), 3),
          "probe_s": round(sum(c.probe_s for c in candidates), 3)})
    return ranked


def to_result(candidate: Candidate, baseline: ProbeResult | None, setup: TrainSetup,
              problem: str | None, seeds_total: int, settings: Settings,
              capture: Any = None) -> FixResult:
    """The measured fix as a record: its judgement, its runs, its diff and snippet."""
    fix = candidate.fix
    judgement = judge(candidate, baseline, setup.task, problem, seeds_total, settings.thresholds)
    runs = sorted(candidate.runs, key=lambda run: run.seed)
    probe_result = ProbeResult(label=fix.id, runs=runs,
                               steps=baseline.steps if baseline else 0,
                               elapsed_s=candidate.build_s + candidate.probe_s)
    try:
        diff, snippet = render(list(fix.edits), fix.id, setup, capture)
    except Exception as error:  # noqa: BLE001 - a fix without a diff is still a measured fix
        diff, snippet = None, (f"# nanfix could not write this change as code "
                               f"({type(error).__name__}); see the changes")
    return FixResult(id=fix.id, family=fix.family, title=fix.title, changes=list(fix.changes),
                     outcome=judgement.outcome, seeds_ok=probe_result.seeds_ok, seeds=seeds_total,
                     probe=probe_result, note=judgement.note, diff=diff, snippet=snippet,
                     data_fix=fix.data_fix, size=fix.size)
