"""Candidate fixes: choose them from the findings, probe them, rank them; one-axis sweeps.

`find_fixes` is what `nanfix probe` runs when the baseline diverges or stalls:

1. the plan: the fixes that answer the findings first, then the rest of the catalog
   (`nanfix.fixes.plan`, within `Settings.families`, `Settings.grids`, `Settings.max_fixes`);
2. successive halving: every candidate trains on the seed the baseline failed first, with
   the full step budget, stopping at once when it goes non-finite or explodes; only the ones
   that ended healthy go on to the remaining seeds (then the ones that at least learned);
3. when no single fix cures, the best partial fixes are combined in pairs (at most three);
4. each candidate's outcome is judged against the baseline on the same seeds: `cures`,
   `improves` or `fails`, with a note in plain words; a data problem is cured only by a
   data fix;
5. the results are ranked (`nanfix.rank`) and get their diff and snippet (`nanfix.patch`).

The deadline is checked before each candidate and inside each probe; when time runs out we
stop and report what was measured. Before that, a soft time target (`Settings.sweep_seconds`,
by default `SWEEP_SECONDS`) prices a seed from the steps measured so far and
limits how many candidates get a first seed and how many are verified on all of them, so a
heavier model gets fewer candidates rather than a slower report.

`sweep_axis` is `nanfix sweep train.py --lr ...`: one setting over a grid, every value on
every seed, and the range where training is stable.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nanfix import fixes as catalog
from nanfix import patch, rank
from nanfix.config import Settings
from nanfix.fixes.base import Fix, codes
from nanfix.fixes.data import data_problem
from nanfix.probe import Deadline, probe
from nanfix.results import Finding, FixResult, Outcome, ProbeResult, SeedRun, Severity, median
from nanfix.trainingdata import leaves
from nanfix.trainsetup import TrainSetup, build_trainer

Emit = Callable[[dict[str, Any]], None]

ADVANCE_AT_LEAST = 3  # successive halving keeps at least this many for the remaining seeds
MAX_COMBINATIONS = 3
MAX_LATE_VERIFICATIONS = 3  # halted healthy candidates verified when nothing cured
COMBINE_FROM = 3  # the best partial fixes that are paired with each other
KEEP_TRAINERS_BYTES = 256 * 2**20  # survivors keep their compiled trainer up to this much data
# An optimizer swap replaces the whole optimizer config: pairing it with a change to that
# config would undo one of the two.
INCOMPATIBLE = {frozenset({"optimizer", "lr"}), frozenset({"optimizer", "clipping"}),
                frozenset({"optimizer", "epsilon"}), frozenset({"pairing", "stable_loss"})}


# The sweep aims to finish within this many seconds (a soft target, unlike the deadline): the
# whole ranked report of a small model in < 30 s with TensorFlow's start. On a heavier model a
# seed costs more, so fewer candidates are probed. `sweep_seconds` in the settings overrides
# it; tests set this to None for no target (only max_fixes and the deadline).
SWEEP_SECONDS = 20.0
MIN_CANDIDATES = 6  # however slow a seed is, this many candidates get their first seed
TRACE_SECONDS = 0.2  # a fresh trainer's first step traces its compiled step
GUESSED_SEED_SECONDS = 0.5  # until a probe has run long enough to price a step


@dataclass
class Budget:
    """The sweep's soft time target, priced in seeds at the cost measured so far."""

    seconds: float | None
    steps: int
    rates: list[float] = field(default_factory=list)  # seconds per training step, as seen
    started: float = field(default_factory=time.perf_counter)

    def observe(self, runs: list[SeedRun]) -> None:
        self.rates += [run.elapsed_s / run.steps_run for run in runs
                       if run.steps_run >= 10 and run.elapsed_s > 0]

    @property
    def seed_seconds(self) -> float:
        """What one candidate seed costs (a guess until a seed has run 10 steps)."""
        if not self.rates:
            return GUESSED_SEED_SECONDS
        rates = sorted(self.rates)
        return rates[len(rates) // 2] * self.steps + TRACE_SECONDS

    def left(self) -> float:
        if self.seconds is None:
            return math.inf
        return self.seconds - (time.perf_counter() - self.started)

    def first_round(self) -> int | None:
        """How many candidates get their first seed (about two thirds of the target)."""
        if self.seconds is None:
            return None
        return max(MIN_CANDIDATES, int(0.65 * self.seconds / self.seed_seconds))

    def verifications(self, seeds: int) -> int | None:
        """How many candidates the time left can verify on `seeds` more seeds (at least one)."""
        if self.seconds is None or seeds <= 0:
            return None
        return max(1, int(self.left() / (self.seed_seconds * seeds)))


# -- probing candidates -------------------------------------------------------------------


@dataclass
class Candidate:
    """A fix on its way through the sweep: its setup, its runs so far, its costs."""

    fix: Fix
    base: TrainSetup | None = None  # the setup the fix applies to
    setup: TrainSetup | None = None  # the fixed setup, made on first use
    runs: list[SeedRun] = field(default_factory=list)
    build_s: float = 0.0  # building trainers (model rebuild, optimizer, data tensors)
    probe_s: float = 0.0  # probing, the first step's trace included
    error: str = ""
    trainer: Any = None
    halted: bool = False  # healthy so far, but others did better: not probed on every seed

    @property
    def healthy(self) -> bool:
        return bool(self.runs) and all(run.ok for run in self.runs)


def _nbytes(setup: TrainSetup) -> int:
    data = setup.data
    total = 0
    for nest in (data.x, data.y, data.x_val, data.y_val):
        if nest is not None:
            total += sum(np.asarray(leaf).nbytes for leaf in leaves(nest))
    return total


@contextlib.contextmanager
def quiet_retracing():
    """Every candidate traces its own step; TensorFlow's "retracing" warning is expected here."""
    import tensorflow as tf

    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        yield
    finally:
        logger.setLevel(level)


def _run_seeds(candidate: Candidate, seeds: list[int], settings: Settings, deadline: Deadline,
               keep: bool) -> None:
    """Probe `candidate` on `seeds`, building (or reusing) its trainer; never raises."""
    with quiet_retracing():
        _probe_seeds(candidate, seeds, settings, deadline, keep)


def _probe_seeds(candidate: Candidate, seeds: list[int], settings: Settings, deadline: Deadline,
                 keep: bool) -> None:
    try:
        if candidate.setup is None:
            candidate.setup = candidate.fix.apply(candidate.base)
        started = time.perf_counter()
        trainer = candidate.trainer
        if trainer is None:
            trainer = build_trainer(candidate.setup, settings.eval_samples)
        else:
            # candidates without a model edit share the captured model, and each compiled it
            # since; give it back this candidate's optimizer and loss before training again
            trainer.model.compile(optimizer=trainer.optimizer, loss=candidate.setup.loss,
                                  loss_weights=candidate.setup.loss_weights, jit_compile=False)
        candidate.build_s += time.perf_counter() - started
        result = probe(trainer, candidate.fix.id, settings, deadline, on_progress=None,
                       seeds=seeds, stop_on_explosion=True)
        candidate.probe_s += result.elapsed_s
        candidate.runs += result.runs
        candidate.trainer = trainer if keep else None
    except Exception as error:  # noqa: BLE001 - a candidate that cannot train is a measured failure
        candidate.trainer = None
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        candidate.error = f"{type(error).__name__}: {message}"[:300]
        for seed in seeds:
            if all(run.seed != seed for run in candidate.runs):
                candidate.runs.append(SeedRun(seed=seed, outcome=Outcome.CRASHED, steps_run=0,
                                              reason=f"training raised {candidate.error}"))


def seed_order(baseline: ProbeResult | None, settings: Settings) -> list[int]:
    """The baseline's seeds, the ones it failed first: they tell candidates apart soonest."""
    seeds = [run.seed for run in baseline.runs] if baseline and baseline.runs else list(range(settings.seeds))
    failed = [run.seed for run in (baseline.runs if baseline else []) if not run.ok]
    return failed + [seed for seed in seeds if seed not in failed]


def _promising(candidate: Candidate, task) -> bool:
    """Worth more seeds although not healthy: finite, its loss clearly fell, and a classifier
    got at least halfway to the accuracy that counts as learning."""
    run = candidate.runs[0] if candidate.runs else None
    if run is None or run.outcome is not Outcome.STALLED:
        return False
    fell = (run.start_loss is not None and run.final_loss is not None
            and run.final_loss < 0.9 * run.start_loss)
    chance = getattr(task, "chance_accuracy", None)
    if fell and task is not None and task.is_classification and chance is not None:
        return run.val_accuracy is not None and run.val_accuracy >= chance + 0.05 * (1.0 - chance)
    return fell


def _score(candidate: Candidate) -> tuple:
    """How well a candidate did so far (larger is better), for ordering and for combining."""
    return score_runs(candidate.runs)


def score_runs(runs: list[SeedRun]) -> tuple:
    """(healthy share, finite share, mean accuracy, mean relative loss drop): larger is better."""
    if not runs:
        return (0.0, 0.0, 0.0, -math.inf)
    healthy = sum(run.ok for run in runs) / len(runs)
    finite = sum(run.outcome in (Outcome.HEALTHY, Outcome.STALLED) for run in runs) / len(runs)
    drops = [1.0 - run.final_loss / run.start_loss for run in runs
             if run.final_loss is not None and run.start_loss and run.start_loss > 0]
    accuracy = [run.val_accuracy for run in runs if run.val_accuracy is not None]
    return (healthy, finite, float(np.mean(accuracy)) if accuracy else 0.0,
            float(np.mean(drops)) if drops else -math.inf)


def probe_candidates(fixes: list[Fix], setup: TrainSetup, seeds: list[int], settings: Settings,
                     deadline: Deadline, emit: Emit, start_index: int = 0,
                     total: int | None = None, budget: Budget | None = None) -> list[Candidate]:
    """Successive halving: every candidate on the first seed; the better half of the healthy
    ones (at least ADVANCE_AT_LEAST, topped up with promising ones) on the other seeds."""
    total = total or len(fixes)
    keep = _nbytes(setup) * max(1, len(fixes)) <= KEEP_TRAINERS_BYTES
    first, rest = seeds[:1], seeds[1:]
    candidates = []
    for index, fix in enumerate(fixes):
        if deadline.passed():
            break
        slots = budget.first_round() if budget else None
        if slots is not None and index >= slots:
            emit({"event": "phase", "phase": f"time target: {index} of {len(fixes)} planned fixes "
                  f"tried (a seed costs about {budget.seed_seconds:.1f} s here)"})
            break
        emit({"event": "candidate", "index": start_index + index, "total": total, "id": fix.id,
              "title": fix.title})
        candidate = Candidate(fix=fix, base=setup)
        _run_seeds(candidate, first, settings, deadline, keep=keep and bool(rest))
        candidates.append(candidate)
        if budget:
            budget.observe(candidate.runs)
        if not rest or not (candidate.healthy or _promising(candidate, setup.task)):
            _done(candidate, emit)
    if not rest:
        return candidates
    survivors = advancing(candidates, setup.task,
                          limit=budget.verifications(len(rest)) if budget else None)
    for candidate in candidates:
        if candidate not in survivors and candidate.trainer is not None:
            candidate.halted = True
            _done(candidate, emit)
    for candidate in survivors:
        if deadline.passed():
            candidate.halted = True
        else:
            _run_seeds(candidate, rest, settings, deadline, keep=False)
        _done(candidate, emit)
    return candidates


def advancing(candidates: list[Candidate], task, limit: int | None = None) -> list[Candidate]:
    """Who goes on to the remaining seeds, best first by the ranking's own measures (at most
    `limit`: what the time target still allows)."""
    classifier = bool(task is not None and task.is_classification)

    def key(candidate: Candidate):
        return (rank.quality_of_runs(candidate.runs, classifier), candidate.fix.size,
                candidate.fix.magnitude)

    healthy = sorted((c for c in candidates if c.healthy), key=key)
    quota = max(ADVANCE_AT_LEAST, math.ceil(len(healthy) / 2))
    if limit is not None:
        quota = min(quota, limit)
    # the best of each family first, so the report verifies different kinds of change
    best_per_family = [c for i, c in enumerate(healthy)
                       if all(other.fix.family != c.fix.family for other in healthy[:i])]
    chosen = best_per_family[:quota]
    chosen += [c for c in healthy if c not in chosen][:quota - len(chosen)]
    chosen.sort(key=key)
    if len(chosen) < min(quota, ADVANCE_AT_LEAST):
        promising = sorted((c for c in candidates if _promising(c, task)), key=_score, reverse=True)
        chosen += promising[:min(quota, ADVANCE_AT_LEAST) - len(chosen)]
    return chosen


def verify_halted(candidates: list[Candidate], setup: TrainSetup, seeds: list[int], settings: Settings,
                  deadline: Deadline, emit: Emit) -> None:
    """When nothing cured, the candidates that were healthy on the first seed but halted by
    the time target get their other seeds, best first, until one cures (at most
    MAX_LATE_VERIFICATIONS): a measured single change beats a guessed combination."""
    def cured() -> bool:
        return any(c.healthy and len(c.runs) == len(seeds) for c in candidates)

    waiting = advancing([c for c in candidates if c.halted and c.healthy], setup.task)
    for candidate in waiting[:MAX_LATE_VERIFICATIONS]:
        if cured() or deadline.passed():
            return
        emit({"event": "candidate", "index": candidates.index(candidate), "total": len(candidates),
              "id": candidate.fix.id, "title": f"{candidate.fix.title} (more seeds)"})
        done = {run.seed for run in candidate.runs}
        _run_seeds(candidate, [seed for seed in seeds if seed not in done], settings, deadline, keep=False)
        candidate.halted = len(candidate.runs) < len(seeds)
        _done(candidate, emit)


def _done(candidate: Candidate, emit: Emit) -> None:
    candidate.trainer = None
    emit({"event": "candidate_done", "id": candidate.fix.id, "outcome": _quick_outcome(candidate)})


def _quick_outcome(candidate: Candidate) -> str:
    if candidate.healthy:
        return "healthy"
    return "diverged" if any(run.outcome is Outcome.DIVERGED for run in candidate.runs) else "stalled"


# -- judging a candidate against the baseline ---------------------------------------------


@dataclass
class Verdict:
    outcome: str
    note: str


def _failure_step(run: SeedRun) -> int | None:
    if run.outcome is not Outcome.DIVERGED:
        return None
    if run.first_nonfinite is not None:
        return run.first_nonfinite.step
    exploded = run.signals.get("exploded_at")
    return exploded if exploded is not None else run.steps_run


def _fmt(value: float | None) -> str:
    return "?" if value is None else f"{value:.3g}"


def learning_summary(runs: list[SeedRun], task) -> str:
    """'loss 2.30 → 0.31, accuracy 0.95' (or 'accuracy at chance')."""
    start = median([run.start_loss for run in runs])
    final = median([run.final_loss for run in runs])
    text = f"loss {_fmt(start)} → {_fmt(final)}"
    accuracy = median([run.val_accuracy for run in runs])
    if task is not None and task.is_classification and accuracy is not None:
        chance = task.chance_accuracy or 0.0
        if accuracy < chance + 0.1 * (1.0 - chance):
            text += f", accuracy at chance ({accuracy:.2f})"
        else:
            text += f", accuracy {accuracy:.2f}"
    return text


def judge(candidate: Candidate, baseline: ProbeResult | None, task, problem: str | None,
          seeds_total: int) -> Verdict:
    """cures / improves / fails, with a note that says why in plain words."""
    runs = sorted(candidate.runs, key=lambda run: run.seed)
    fix = candidate.fix
    ok = sum(run.ok for run in runs)
    probed = len(runs)
    base = {run.seed: run for run in (baseline.runs if baseline else [])}
    base_runs = [base[run.seed] for run in runs if run.seed in base]
    base_bad = sum(not run.ok for run in base_runs)
    bad = probed - ok
    partial = f" (stopped after {probed} of {seeds_total} seeds)" if probed < seeds_total else ""
    if candidate.halted and ok == probed:
        partial = (f" (not verified on the other {seeds_total - probed} seeds: the time went to "
                   "better candidates)")
    if candidate.error and ok == 0:
        return Verdict("fails", f"training failed: {candidate.error}")
    if ok == probed and probed >= seeds_total:
        outcome, note = "cures", f"healthy in {ok}/{probed} seeds: {learning_summary(runs, task)}"
    elif bad < base_bad:
        outcome = "improves"
        note = (f"healthy in {ok}/{probed} seeds (baseline {len(base_runs) - base_bad}/{len(base_runs)})"
                f"{partial}: {learning_summary(runs, task)}")
    else:
        outcome, note = _failed(runs, base_runs, task, partial)
    if problem and not fix.data_fix:
        if outcome == "cures":
            outcome = "improves"
        note += (f"; this does not repair the data ({problem}): only a data fix can cure that")
    elif fix.data_fix and fix.note:
        note = f"{note}. {fix.note}"
    return Verdict(outcome, note)


def _failed(runs: list[SeedRun], base_runs: list[SeedRun], task, partial: str) -> tuple[str, str]:
    steps = [s for s in (_failure_step(run) for run in runs) if s is not None]
    base_steps = [s for s in (_failure_step(run) for run in base_runs) if s is not None]
    diverged = [run for run in runs if run.outcome is Outcome.DIVERGED]
    if diverged and base_steps and steps and min(steps) >= max(2 * min(base_steps), min(base_steps) + 10):
        return "improves", (f"diverges later: first failure at step {min(steps)} instead of "
                            f"{min(base_steps)}{partial}")
    if diverged:
        return "fails", f"{diverged[0].reason} (seed {diverged[0].seed}){partial}"
    crashed = [run for run in runs if run.outcome in (Outcome.CRASHED, Outcome.TIMED_OUT)]
    if crashed and len(crashed) == len(runs):
        return "fails", f"{crashed[0].reason}{partial}"
    if base_steps:  # the baseline went non-finite here; this candidate only stays finite
        ok = sum(run.ok for run in runs)
        what = f"it learns on only {ok}/{len(runs)} seeds" if ok else "nothing learned"
        return "fails", f"no NaN, but {what}: {learning_summary(runs, task)}{partial}"
    stalled = [run for run in runs if run.outcome is Outcome.STALLED]
    reason = stalled[0].reason if stalled else "not better than the baseline"
    return "fails", f"{reason}: {learning_summary(runs, task)}{partial}"


# -- combinations ---------------------------------------------------------------------------


def combine(first: Fix, second: Fix) -> Fix:
    """Both changes, the first applied first; an optimizer swap always goes first."""
    if second.family == "optimizer":
        first, second = second, first
    return Fix(id=f"{first.id}+{second.id}", family=f"{first.family}+{second.family}",
               title=f"{first.title}; and {second.title[:1].lower()}{second.title[1:]}",
               answers=tuple(dict.fromkeys(first.answers + second.answers)),
               transform=lambda setup: second.transform(first.transform(setup)),
               changes=first.changes + second.changes, edits=first.edits + second.edits,
               magnitude=first.magnitude + second.magnitude,
               data_fix=first.data_fix or second.data_fix,
               note=first.note or second.note, parts=(first.id, second.id))


def combinations(candidates: list[Candidate], baseline: ProbeResult | None) -> list[Fix]:
    """Pairs of the best partial fixes from different families (at most MAX_COMBINATIONS)."""
    base_score = _baseline_score(baseline)
    # better than the baseline first; when nothing is, still the best of each family: two
    # causes at once (a wrong pairing and raw pixels) only yield to both changes together
    partial = [c for c in candidates if not c.error and c.runs]
    partial.sort(key=lambda c: (_score(c) > base_score, _score(c)), reverse=True)
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


# -- the whole sweep ---------------------------------------------------------------------------


def with_symptoms(setup: TrainSetup, baseline: ProbeResult | None, findings: list[Finding],
                  settings: Settings, capture: Any = None) -> list[Finding]:
    """The findings, plus the probe findings (N7xx/S8xx) when the caller ran only pre-flight."""
    if baseline is None or any(code[0] in "NS" for code in codes(findings)):
        return list(findings)
    try:
        from nanfix import findings as catalog_findings
        from nanfix.findings.base import Context

        context = Context(model=setup.model, optimizer=None, loss=setup.loss, task=setup.task,
                          data=setup.data, settings=settings, capture=capture, baseline=baseline)
        extra = [f for f in catalog_findings.run("probe", context) if f.code != "X000"]
    except Exception:  # noqa: BLE001 - the sweep works without them
        extra = []
    return list(findings) + extra


@contextlib.contextmanager
def restoring_compile(setup: TrainSetup):
    """Candidates that share the captured model compile it with their own optimizer and loss;
    afterwards it is compiled as before, so a trainer built earlier traces the right loss."""
    model = setup.model
    optimizer = getattr(model, "optimizer", None)
    try:
        yield
    finally:
        if optimizer is not None:
            try:
                model.compile(optimizer=optimizer, loss=setup.loss, loss_weights=setup.loss_weights,
                              jit_compile=False)
            except Exception:  # noqa: BLE001 - best effort; the sweep's results stand
                pass


def find_fixes(setup: TrainSetup, baseline: ProbeResult | None, findings: list[Finding],
               settings: Settings, deadline: Deadline, emit: Emit | None,
               capture: Any = None) -> list[FixResult]:
    """Probe the candidate fixes for this setup and return them measured and ranked."""
    with restoring_compile(setup):
        return _find_fixes(setup, baseline, findings, settings, deadline, emit, capture)


def _find_fixes(setup: TrainSetup, baseline: ProbeResult | None, findings: list[Finding],
                settings: Settings, deadline: Deadline, emit: Emit | None,
                capture: Any = None) -> list[FixResult]:
    emit = emit or (lambda event: None)
    started = time.perf_counter()
    findings = with_symptoms(setup, baseline, findings, settings, capture)
    problem = data_problem(setup, findings)
    fixes = catalog.plan(setup, findings, settings)
    budget = Budget(settings.sweep_seconds or SWEEP_SECONDS, settings.steps)
    budget.observe(list(baseline.runs) if baseline else [])
    seeds = seed_order(baseline, settings)
    candidates = probe_candidates(fixes, setup, seeds, settings, deadline, emit, budget=budget)
    # nothing cured: verifying the halted healthy candidates, then combining, is worth going
    # past the soft target (not past the deadline)
    verify_halted(candidates, setup, seeds, settings, deadline, emit)
    if not any(c.healthy and len(c.runs) == len(seeds) for c in candidates) and not deadline.passed():
        pairs = combinations(candidates, baseline)
        if pairs:
            emit({"event": "phase", "phase": "combining the best partial fixes"})
            candidates += probe_candidates(pairs, setup, seeds, settings, deadline, emit,
                                           start_index=len(fixes), total=len(fixes) + len(pairs))
    results = []
    for candidate in candidates:
        results.append(to_result(candidate, baseline, setup, problem, len(seeds), capture))
    magnitudes = {c.fix.id: c.fix.magnitude for c in candidates}
    ranked = rank.rank(results, setup.task, magnitudes, cause_families(findings))
    emit({"event": "sweep_cost", "candidates": len(candidates),
          "elapsed_s": round(time.perf_counter() - started, 3),
          "build_s": round(sum(c.build_s for c in candidates), 3),
          "probe_s": round(sum(c.probe_s for c in candidates), 3)})
    return ranked


def cause_families(findings: list[Finding]) -> set[str]:
    """The fix families that answer the diagnosed cause: the pre-flight errors (else warnings).

    Symptoms (N7xx, S8xx, U9xx) say what happened, not why, so they do not count here.
    """
    causes = [f for f in findings if f.code[0] in "DLPMOK"]
    for severity in (Severity.ERROR, Severity.WARNING):
        families = {family for f in causes if f.severity is severity for family in f.fix_families}
        if families:
            return families
    return set()


def to_result(candidate: Candidate, baseline: ProbeResult | None, setup: TrainSetup,
              problem: str | None, seeds_total: int, capture: Any = None) -> FixResult:
    fix = candidate.fix
    verdict = judge(candidate, baseline, setup.task, problem, seeds_total)
    runs = sorted(candidate.runs, key=lambda run: run.seed)
    probe_result = ProbeResult(label=fix.id, runs=runs,
                               steps=baseline.steps if baseline else 0,
                               elapsed_s=candidate.build_s + candidate.probe_s)
    try:
        diff, snippet = patch.render(list(fix.edits), fix.id, setup, capture)
    except Exception as error:  # noqa: BLE001 - a fix without a diff is still a measured fix
        diff, snippet = None, f"# nanfix could not write this change as code ({type(error).__name__}); see the changes"
    return FixResult(id=fix.id, family=fix.family, title=fix.title, changes=list(fix.changes),
                     outcome=verdict.outcome, seeds_ok=probe_result.seeds_ok, seeds=seeds_total,
                     probe=probe_result, note=verdict.note, diff=diff, snippet=snippet,
                     data_fix=fix.data_fix, size=fix.size)


# -- one axis ------------------------------------------------------------------------------------

AXES = ("lr", "epsilon", "clip", "scale", "output")


def default_grid(axis: str, setup: TrainSetup) -> list[Any]:
    settings = setup.optimizer_settings
    if axis == "lr":
        rate = settings.get("learning_rate")
        rate = float(rate) if isinstance(rate, (int, float)) and rate > 0 else 0.01
        # half-decade steps from 10^-4 to 10x the script's rate, in round numbers (x1, x3)
        factors = [scale * 10.0 ** k for k in range(-4, 1) for scale in (1.0, 3.0)] + [1.0, 10.0]
        return sorted({float(f"{rate * factor:.3g}") for factor in factors})
    if axis == "epsilon":
        return [1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1]
    if axis == "clip":
        return [0.1, 0.5, 1.0, 5.0, 10.0]
    if axis == "scale":
        return ["none", *[fix.id.removeprefix("inputs-") for fix in
                          catalog.FAMILIES["input_scaling"].fixes(setup, [])]]
    if axis == "output":
        return ["none", *[fix.id for fix in catalog.FAMILIES["pairing"].fixes(setup, [])]]
    raise ValueError(f"unknown sweep axis {axis!r}; choose one of {', '.join(AXES)}")


def axis_fix(axis: str, value: Any, setup: TrainSetup) -> Fix | None:
    """The fix that sets `axis` to `value` (None: the script as it is)."""
    from nanfix.fixes.base import optimizer_fix

    if axis == "lr":
        return optimizer_fix(setup, id=f"lr-{value:g}", family="lr", title=f"learning_rate={value:g}",
                             answers=(), settings={"learning_rate": float(value)})
    if axis == "epsilon":
        return optimizer_fix(setup, id=f"epsilon-{value:g}", family="epsilon", title=f"epsilon={value:g}",
                             answers=(), settings={"epsilon": float(value)})
    if axis == "clip":
        return optimizer_fix(setup, id=f"clipnorm-{value:g}", family="clipping", title=f"clipnorm={value:g}",
                             answers=(), settings={"clipnorm": float(value), "clipvalue": None,
                                                   "global_clipnorm": None})
    if str(value) == "none":
        return None
    family = "input_scaling" if axis == "scale" else "pairing"
    wanted = f"inputs-{value}" if axis == "scale" and not str(value).startswith("inputs-") else str(value)
    for fix in catalog.FAMILIES[family].fixes(setup, []):
        if fix.id == wanted:
            return fix
    choices = default_grid(axis, setup)
    if choices == ["none"]:
        what = "input scaling" if axis == "scale" else "output activation / loss pairing"
        raise ValueError(f"nanfix has no {what} to try for this script (asked for {value!r}): "
                         + ("its inputs are already near unit scale" if axis == "scale"
                            else "its output and loss already match"))
    raise ValueError(f"{value!r} is not a choice for --{axis} here; choose from {', '.join(map(str, choices))}")


def _identity(setup: TrainSetup) -> Fix:
    return Fix(id="as-is", family="none", title="the script as it is", answers=(),
               transform=lambda s: s, changes=())


def sweep_axis(setup: TrainSetup, axis: str, grid: Sequence[Any] | None, settings: Settings,
               deadline: Deadline, emit: Emit | None) -> dict[str, Any]:
    """Every grid value on every seed; the outcome per value and where training is stable."""
    if axis not in AXES:
        raise ValueError(f"unknown sweep axis {axis!r}; choose one of {', '.join(AXES)}")
    with restoring_compile(setup):
        return _sweep_axis(setup, axis, grid, settings, deadline, emit)


def _sweep_axis(setup: TrainSetup, axis: str, grid: Sequence[Any] | None, settings: Settings,
                deadline: Deadline, emit: Emit | None) -> dict[str, Any]:
    emit = emit or (lambda event: None)
    values = list(grid) if grid else default_grid(axis, setup)
    seeds = list(range(settings.seeds))
    rows = []
    for index, value in enumerate(values):
        if deadline.passed():
            break
        fix = axis_fix(axis, value, setup) or _identity(setup)
        emit({"event": "candidate", "index": index, "total": len(values), "id": fix.id, "title": fix.title})
        candidate = Candidate(fix=fix, base=setup)
        _run_seeds(candidate, seeds, settings, deadline, keep=False)
        row = _row(value, candidate, setup.task)
        emit({"event": "candidate_done", "id": fix.id, "outcome": row["outcome"]})
        rows.append(row)
    return {"axis": axis, "values": rows, "stable_range": stable_range(axis, rows),
            "best": best_value(rows, setup.task)}


def _row(value: Any, candidate: Candidate, task) -> dict[str, Any]:
    runs = candidate.runs
    ok = sum(run.ok for run in runs)
    if runs and ok == len(runs):
        outcome = "healthy"
    elif any(run.outcome is Outcome.DIVERGED for run in runs):
        outcome = "diverges"
    elif any(run.outcome is Outcome.STALLED for run in runs):
        outcome = "stalls"
    else:
        outcome = "error" if candidate.error else "timed_out"
    return {"value": value, "outcome": outcome, "seeds_ok": ok, "seeds": len(runs),
            "final_loss": median([run.final_loss for run in runs]),
            "val_accuracy": median([run.val_accuracy for run in runs]) if task.is_classification else None,
            "note": candidate.error or (runs[0].reason if runs and not runs[0].ok else "")}


AXIS_NAMES = {"lr": "learning_rate", "epsilon": "epsilon", "clip": "clipnorm"}


def stable_range(axis: str, rows: list[dict[str, Any]]) -> str:
    """Where training neither diverged nor stalled, in plain words."""
    if not rows:
        return "nothing was measured before the time ran out"
    healthy = [row["value"] for row in rows if row["outcome"] == "healthy"]
    if axis not in AXIS_NAMES:
        if not healthy:
            return "no choice trained healthily on every seed"
        return "healthy with: " + ", ".join(map(str, healthy))
    name = AXIS_NAMES[axis]
    finite = sorted(row["value"] for row in rows if row["outcome"] != "diverges")
    diverging = sorted(row["value"] for row in rows if row["outcome"] == "diverges")
    parts = []
    if axis == "lr" and diverging and finite:
        limit = [v for v in finite if v < min(diverging)]
        if limit:
            parts.append(f"stable for {name} ≤ {max(limit):g}")
    if healthy:
        low, high = min(healthy), max(healthy)
        parts.append(f"learns for {name} = {low:g}" if low == high
                     else f"learns for {low:g} ≤ {name} ≤ {high:g}")
    else:
        parts.append("no value trained healthily on every seed")
    if axis == "lr" and not diverging:
        parts.insert(0, f"no divergence up to {name} = {max(row['value'] for row in rows):g}")
    return "; ".join(parts)


def best_value(rows: list[dict[str, Any]], task) -> Any:
    if not rows:
        return None

    def key(row):
        quality = row["val_accuracy"] if task.is_classification else -(row["final_loss"] or math.inf)
        return (row["seeds_ok"], quality if quality is not None else -math.inf)

    return max(rows, key=key)["value"]
