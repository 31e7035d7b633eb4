"""The fix sweep: choose candidates from the findings, probe them, assess and rank them.

`find_fixes` is what `nanfix probe` runs when the baseline diverges or stalls:

1. the plan: the fixes that answer the findings first, then the rest of the catalog
   (`nanfix.fixes.plan`, within `Settings.families`, `Settings.grids`, `Settings.max_fixes`);
2. successive halving (`halving.py`): every candidate trains on the seed the baseline failed
   first, with the full step budget, stopping at once when it goes non-finite or explodes;
   only the ones that ended healthy go on to the remaining seeds (then the ones that at
   least learned), within the budget in probed steps (`budget.py`), until a confirmed cure
   cannot be overtaken; the candidates train where the runner says (`runner.py`: here, or
   on Ray workers), and the halving reads them in plan order, so the report is the same;
3. when no single fix cures, combinations in the diagnosis's order (`combine.py`): one fix
   per diagnosed cause together, partial cures with the fixes for the other causes, then
   the best partial fixes in pairs;
4. each candidate's outcome is assessed against the baseline on the same seeds (`assess.py`):
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
from nanfix.capture.training_data import first_array
from nanfix.config import Settings
from nanfix.findings.catalog import Context
from nanfix.fixes.catalog import Fix
from nanfix.fixes.data_repair import data_problem
from nanfix.fixes.source.diff import read_source, render
from nanfix.fixes.task_change import class_counts
from nanfix.probes.run import Deadline
from nanfix.probes.setup import TrainSetup
from nanfix.records import Finding, FixResult, ProbeResult, Stage
from nanfix.sweep import combine, rank
from nanfix.sweep.assess import assess
from nanfix.sweep.budget import Budget
from nanfix.sweep.candidate import Candidate, cured, restoring_compile, seed_order
from nanfix.sweep.cause import cause_families
from nanfix.sweep.halving import probe_candidates, verify_halted
from nanfix.sweep.runner import Runner
from nanfix.sweep.verify import Reload, verify_from_diffs

# Makes the sweep's runner from the settings it probes with and the findings it plans with
# (a remote worker re-plans the fixes from them, to rebuild a candidate from its id).
RunnerFactory = Callable[[Settings, list[Finding]], Runner]

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
               capture: Any = None, sweep_report: dict[str, Any] | None = None,
               runners: RunnerFactory | None = None, reload: Reload | None = None) -> list[FixResult]:
    """Probe the candidate fixes for this setup and return them measured and ranked;
    `sweep_report`, when given, receives what the budget allowed and spent. `runners` makes
    what trains them (`RunnerFactory`; default: here, one at a time;
    `nanfix.executor.ray_pool`: on a Ray cluster). With `reload` (the setup a patched copy of
    the script trains), the top cures are checked on their patched scripts (`verify.py`)."""
    with restoring_compile(setup):
        return _find_fixes(setup, baseline, findings, settings, deadline, emit, capture, sweep_report,
                           runners or (lambda settings, findings: Runner()), reload)


def _find_fixes(setup: TrainSetup, baseline: ProbeResult | None, findings: list[Finding],
                settings: Settings, deadline: Deadline, emit: Emit | None,
                capture: Any, sweep_report: dict[str, Any] | None,
                make_runner: RunnerFactory, reload: Reload | None = None) -> list[FixResult]:
    emit = emit or (lambda event: None)
    started = time.perf_counter()
    findings = with_symptoms(setup, baseline, findings, settings, capture)
    problem = data_problem(setup, findings)
    fixes = catalog.plan(setup, findings, settings)
    causes = cause_families(findings)
    budget = Budget.for_sweep(setup, settings)
    emit({"event": "phase", "phase": f"trying fixes: a budget of {budget.total} probed steps"})
    seeds = seed_order(baseline, settings)
    runner = make_runner(settings, findings)
    try:
        candidates = probe_candidates(fixes, setup, seeds, settings, deadline, emit, budget,
                                      causes=causes, runner=runner)
        # nothing cured: verifying the halted healthy candidates, then combining, is worth
        # going past the budget (not past the deadline)
        verify_halted(candidates, setup, seeds, settings, deadline, emit, budget, causes=causes,
                      runner=runner)
        candidates += combined(candidates, findings, baseline, setup, seeds, settings, deadline,
                               emit, budget, causes, planned=len(fixes), runner=runner)
    finally:
        runner.close()
    results = [to_result(candidate, baseline, setup, problem, len(seeds), settings, capture)
               for candidate in candidates]
    magnitudes = {c.fix.id: c.fix.magnitude for c in candidates}
    ranked = rank.rank(results, setup.task, magnitudes, causes, thresholds=settings.thresholds)
    source = read_source(getattr(capture, "script", None))
    if reload is not None and source is not None and settings.verify_cures:
        verify_from_diffs(ranked, source.text, reload, settings, deadline, seeds, emit)
        ranked = rank.rank(ranked, setup.task, magnitudes, causes, thresholds=settings.thresholds)
    if sweep_report is not None:
        sweep_report.update(budget.describe(), executor=runner.name, workers=runner.width)
    emit({"event": "sweep_cost", "candidates": len(candidates),
          "elapsed_s": round(time.perf_counter() - started, 3),
          "build_s": round(sum(c.build_s for c in candidates), 3),
          "probe_s": round(sum(c.probe_s for c in candidates), 3)})
    return ranked


def combined(candidates: list[Candidate], findings: list[Finding], baseline: ProbeResult | None,
             setup: TrainSetup, seeds: list[int], settings: Settings, deadline: Deadline,
             emit: Emit, budget: Budget, causes: set[str], planned: int,
             runner: Runner | None = None) -> list[Candidate]:
    """The combinations worth measuring after the single fixes (`combine.py`), worth going
    past the budget (never past the deadline):

    - a fix for the diagnosed cause cured, but a change for a symptom trained far better (a
      higher rate): the two together, so the report can lead with the cause's fix;
    - no fix for the cause cured: one fix per diagnosed cause together and the partial cures
      completed with the fixes for the other causes; leave-one-out when an all-causes
      combination of three or more cured; generic pairs only when nothing cured at all.
    """
    if deadline.passed():
        return []
    # a cure that answers no diagnosed cause (clipping, while the inputs and the targets are
    # both unscaled) leaves the causes' own combination to be measured
    answering = [c for c in cured(candidates, len(seeds)) if set(c.fix.families) & causes]
    parts = {c.fix.id: c.fix for c in candidates if not c.fix.parts}
    tried: list[Candidate] = []

    def probe_phase(fixes: list[Fix], phase: str) -> list[Candidate]:
        seen = {c.fix.id for c in candidates + tried}
        fixes = [fix for fix in dict((fix.id, fix) for fix in fixes).values() if fix.id not in seen]
        if not fixes or deadline.passed():
            return []
        emit({"event": "phase", "phase": phase})
        extra = Budget(total=None, steps=settings.steps)
        start = planned + len(tried)
        found = probe_candidates(fixes, setup, seeds, settings, deadline, emit, extra,
                                 start_index=start, total=start + len(fixes), causes=causes,
                                 runner=runner)
        budget.spent += extra.spent
        budget.cut_by_deadline |= extra.cut_by_deadline
        tried.extend(found)
        return found

    if answering:
        classifier = bool(setup.task is not None and setup.task.is_classification)

        def quality(c: Candidate) -> float:
            return rank.quality_of_runs(c.runs, classifier)

        best_cause = min(answering, key=quality)
        others = sorted((c for c in cured(candidates, len(seeds)) if c not in answering), key=quality)
        if others and not rank.near_best_runs(best_cause.runs, others[0].runs, classifier,
                                              settings.thresholds):
            probe_phase([combine.combine(best_cause.fix, other.fix) for other in others[:2]
                         if combine.compatible([best_cause.fix, other.fix])],
                        "combining the cure for the cause with the best other change")
        return tried
    chosen = combine.cause_fixes(candidates, findings)
    first = probe_phase(combine.for_causes(chosen)
                        + combine.with_other_causes(candidates, chosen, findings, len(seeds)),
                        "combining the fixes for the diagnosed causes")
    for candidate in cured(first, len(seeds)):
        if len(candidate.fix.parts) >= 3:
            probe_phase(combine.leave_one_out(candidate.fix, parts),
                        "leaving each change out, to find the ones that are needed")
            break
    if not cured(candidates + tried, len(seeds)):
        probe_phase(combine.pairs(candidates, baseline), "combining the best partial fixes")
    return tried


def data_change(base: TrainSetup, fixed: TrainSetup | None) -> dict[str, list[int]] | None:
    """The rows and classes a fix's training data holds against the baseline's, when it
    changed the data at all (the report says what a fix costs the task)."""
    if fixed is None or fixed.data is base.data:
        return None
    before, after = class_counts(base.data.y), class_counts(fixed.data.y)
    change = {"rows": [len(first_array(base.data.y)), len(first_array(fixed.data.y))]}
    if before is not None and after is not None:
        change["classes"] = [len(before), len(after)]
    return change


def to_result(candidate: Candidate, baseline: ProbeResult | None, setup: TrainSetup,
              problem: str | None, seeds_total: int, settings: Settings,
              capture: Any = None) -> FixResult:
    """The measured fix as a record: its assessment, its runs, its diff and snippet."""
    fix = candidate.fix
    task = (candidate.setup or setup).task  # its own: a data fix may change the chance accuracy
    assessment = assess(candidate, baseline, task, problem, seeds_total, settings.thresholds)
    runs = sorted(candidate.runs, key=lambda run: run.seed)
    probe_result = ProbeResult(label=fix.id, runs=runs,
                               steps=baseline.steps if baseline else 0,
                               elapsed_s=candidate.build_s + candidate.probe_s)
    try:
        diff, snippet = render(list(fix.edits), fix.id, setup, capture)
    except Exception as error:  # noqa: BLE001 - a fix without a diff is still a measured fix
        diff, snippet = None, (f"# nanfix could not write this change as code "
                               f"({type(error).__name__}); see the changes")
    return FixResult(id=fix.id, family=fix.family, families=list(fix.families), title=fix.title,
                     data_change=data_change(setup, candidate.setup),
                     changes=list(fix.changes),
                     outcome=assessment.outcome, seeds_ok=probe_result.seeds_ok, seeds=seeds_total,
                     probe=probe_result, note=assessment.note, diff=diff, snippet=snippet,
                     data_fix=fix.data_fix, size=fix.size)
