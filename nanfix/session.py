"""One doctor's visit, in pipeline order: load → pre-flight → probe → findings → sweep → report.

`run_job` is what the worker runs for one job: it loads the training (the script's first
fit, the explicit entry or a dataset config, `nanfix.capture.load`), and `examine` runs the
stages in one direction: pre-flight findings, the baseline probe, the numerics replay, the
probe findings, the verdict, then the fix sweep (or the one-axis sweep) and the likely
cause. Every report, a failed load's included, is built here and serialised once.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import numpy as np

from nanfix import findings, fixes
from nanfix.capture import task as task_module
from nanfix.capture.draws import fingerprint
from nanfix.capture.load import Loaded, LoadError, load
from nanfix.capture.record import RecordError
from nanfix.config import Settings
from nanfix.findings.catalog import Context
from nanfix.probes import resume
from nanfix.probes.build import build_trainer
from nanfix.probes.localize import name_first_op
from nanfix.probes.run import Deadline
from nanfix.probes.setup import TrainSetup, custom_train_step, from_capture
from nanfix.probes.stack import probe_seeds
from nanfix.records import (
    ErrorInfo,
    ErrorKind,
    Finding,
    Outcome,
    ProbeResult,
    Report,
    Severity,
    Stage,
    Verdict,
)
from nanfix.report.serialize import report_to_dict
from nanfix.sweep import axis
from nanfix.sweep.cause import likely_cause
from nanfix.sweep.search import RunnerFactory, find_fixes

Emit = Any  # a callable taking one progress event (a dict)
# The probes stop this long before the time limit, so the report is written within it (the
# parent ends the worker a few seconds after the limit, `executor.local.GRACE_SECONDS`).
REPORT_SECONDS = 3.0


def run_job(job: dict[str, Any], emit: Emit, started: float,
            runners: RunnerFactory | None = None) -> dict[str, Any]:
    """Run the whole doctor for one job and return the report as a plain dict (`runners`:
    where its fix sweep trains, `nanfix.sweep.search.find_fixes`)."""
    settings = Settings.from_dict(job["settings"])
    emit({"event": "phase", "phase": "running the script up to fit"})
    try:
        loaded = load(job["script"], job.get("argv", []), job.get("data_config"), settings)
        loaded.seconds_before_examine = time.perf_counter() - started
        report = examine(loaded, settings, emit, mode=job.get("mode", "probe"),
                         sweep_axis=job.get("sweep_axis"), sweep_grid=job.get("sweep_grid"),
                         resume_from=job.get("resume_from"), runners=runners)
    except LoadError as failure:
        report = Report.failed(job["script"], job.get("argv", []), settings.to_dict(),
                               ErrorInfo(type=failure.kind, message=failure.message,
                                         where=failure.where, hint=failure.hint,
                                         detail=failure.detail))
    report.argv = list(job.get("argv", []))
    report.elapsed_s = time.perf_counter() - started
    return report_to_dict(report)


def verdict_of(baseline: ProbeResult, found: list[Finding] | None = None) -> tuple[Verdict, str | None]:
    """The verdict on the training as it is, and why when it is not what the curve shows.

    A finding that makes the task meaningless (`findings.voiding`: labels that are not
    labels, one class left, targets the output cannot produce) decides it: a curve that looks
    healthy then learns nothing real, so the verdict is `stalls`, never `healthy`.
    """
    if baseline.count(Outcome.DIVERGED):
        return Verdict.DIVERGES, None
    if baseline.count(Outcome.STALLED):
        return Verdict.STALLS, None
    if not baseline.seeds_ok:
        return Verdict.ERROR, None
    voiding = findings.voiding(found or [])
    if voiding:
        codes = ", ".join(item.code for item in voiding)
        return Verdict.STALLS, (f"The loss curve looks healthy, but {codes} makes the task meaningless "
                                f"({voiding[0].title.lower()}): what it learns is not the task.")
    return Verdict.HEALTHY, None


def examine(loaded: Loaded, settings: Settings, emit: Emit, mode: str = "probe",
            sweep_axis: str | None = None, sweep_grid: list[float] | None = None,
            resume_from: str | None = None, runners: RunnerFactory | None = None) -> Report:
    """The stages after loading, in order; returns the report (no verdict on error).

    With `resume_from` (a flight record or a checkpoint) every probe starts from the
    recorded state instead of fresh weights (`nanfix.probes.resume`)."""
    deadline = Deadline(settings.time_limit - loaded.seconds_before_examine - REPORT_SECONDS)
    settings = settings.for_fit(loaded.fit_steps)
    model = loaded.model
    setup = training_setup(loaded, resume_from)
    if resume_from is None:
        emit({"event": "phase", "phase": "checking whether the script draws its data at random"})
        setup = setup.with_changes(draws=draws_of(loaded, settings))
    context = Context(model=model, optimizer=model.optimizer, loss=setup.loss, task=setup.task,
                      data=loaded.data, settings=settings, capture=loaded.capture,
                      fit_steps=loaded.fit_steps)
    report = Report(script=loaded.script, verdict=Verdict.HEALTHY, settings=settings.to_dict(),
                    capture=describe(loaded, setup),
                    resume=setup.start.describe() if setup.start is not None else None)
    report.findings = preflight(context)

    if mode == "sweep":
        try:  # a value that is not a choice here is the user's typo: say so before training
            for value in sweep_grid or []:
                axis.axis_fix(sweep_axis, value, setup, report.findings)
        except ValueError as error:
            raise LoadError(ErrorKind.USAGE, str(error)) from None
    emit({"event": "phase", "phase": "baseline probe"})
    trainer = build_trainer(setup, settings.eval_samples)
    if mode == "sweep":
        report.sweep = axis.sweep_axis(setup, sweep_axis, sweep_grid, settings, deadline, emit,
                                       findings=report.findings)
    baseline = probe_seeds(setup, trainer, "baseline", settings, deadline, on_progress=emit)
    report.baseline = baseline
    context.numerics = name_first_op(trainer, baseline)
    context.baseline = baseline
    report.findings = fixes.link(findings.ordered(report.findings + findings.run(Stage.PROBE, context)))
    report.verdict, report.verdict_reason = verdict_of(baseline, report.findings)
    if report.verdict is Verdict.ERROR:
        report.error = no_verdict(baseline, loaded, settings)
    # a cause measured in the script's own code that no setting answers (its train_step
    # climbing the loss) is mended by hand: sweeping settings around it would only mislead
    by_hand = [item for item in report.findings
               if item.measured_cause and item.severity is Severity.ERROR and not item.fix_families]
    # a training that cannot even run because of its data (labels outside the output's range
    # make the step raise) is still cured by repairing the data: sweep for that
    broken_data = report.verdict is Verdict.ERROR and report.error is not None and \
        report.error.type is ErrorKind.TRAINING_FAILED and bool(findings.data_problems(report.findings))
    wants_fixes = settings.sweeps and mode == "probe" and not by_hand and \
        (report.verdict in (Verdict.DIVERGES, Verdict.STALLS) or broken_data)
    if wants_fixes:
        emit({"event": "phase", "phase": "trying fixes"})
        # explicit entry (build_model/load_data) has no Capture, but its origins still
        # point at the optimizer and compile lines, so the fixes get their diffs
        source = loaded.capture or SimpleNamespace(script=loaded.script, origins=loaded.origins)
        report.budget = {}
        report.fixes = find_fixes(setup, baseline, report.findings, settings, deadline, emit,
                                  capture=source, sweep_report=report.budget, runners=runners,
                                  reload=reloader(loaded, settings, resume_from))
    report.likely_cause = likely_cause(report.findings, report.fixes)
    return report


def draws_of(loaded: Loaded, settings: Settings, text: str | None = None) -> dict[int, Any] | None:
    """Each probe seed's own draw of the data ({seed k: the data under script seed k}), for a
    script whose data depends on the draw; None when every seed trains on one (a script that
    drew nothing at random, or drew the same data under another seed: then the script ran to
    its fit once, as ever), when the user fixed the draw (`script_seed`), or for data given
    as it is (a dataset config)."""
    if settings.script_seed is not None or not loaded.random_draws or loaded.data_path or \
            loaded.entry != "fit" or settings.seeds < 2:
        return None
    draws = {0: loaded.data}
    for seed in range(1, settings.seeds):
        drawn = load(loaded.script, loaded.argv, None, settings, text=text, seed=loaded.seed + seed).data
        if seed == 1 and fingerprint(drawn.x, drawn.y, drawn.x_val, drawn.y_val) == \
                fingerprint(loaded.data.x, loaded.data.y, loaded.data.x_val, loaded.data.y_val):
            return None  # another draw, the same data: what the script drew does not reach it
        draws[seed] = drawn
    return draws


def reloader(loaded: Loaded, settings: Settings, resume_from: str | None = None):
    """The setup a patched copy of the script trains: its text run in the script's place,
    with the script's own arguments and data config, up to its fit (under each probe seed's
    script seed, when the script draws its data at random)."""
    def reload(text: str) -> TrainSetup:
        patched = load(loaded.script, loaded.argv, loaded.data_path, settings, text=text)
        setup = training_setup(patched, resume_from)
        return setup.with_changes(draws=draws_of(patched, settings, text) if resume_from is None else None)

    return reload


def training_setup(loaded: Loaded, resume_from: str | None = None) -> TrainSetup:
    """The captured training as the probes train it: its model, optimizer, loss and data, the
    task they imply and, with `resume_from`, the recorded state every probe starts from. A
    Ray worker builds its own from its own load of the script (`nanfix.executor.ray_pool`)."""
    model = loaded.model
    loss = loaded.compile_args.get("loss")
    task = task_module.infer(model, loss, loaded.data.y)
    setup = from_capture(model, model.optimizer, loss, loaded.data, task,
                         loss_weights=loaded.compile_args.get("loss_weights"))
    if resume_from:
        try:
            setup = setup.with_changes(start=resume.load(resume_from, model))
        except RecordError as error:
            raise LoadError(ErrorKind.USAGE, str(error), where=resume_from) from None
    return setup


def no_verdict(baseline: ProbeResult, loaded: Loaded, settings: Settings) -> ErrorInfo:
    """Why the baseline gave no verdict: the time limit ran out first, or training crashed."""
    if baseline.count(Outcome.TIMED_OUT) and not baseline.count(Outcome.CRASHED):
        return ErrorInfo(type=ErrorKind.TIMEOUT,
                         message=f"The time limit ({settings.time_limit:g} s) ran out before the "
                                 f"probe could judge the training "
                                 f"({loaded.seconds_before_examine:.0f} s went to starting "
                                 f"TensorFlow and running the script to its fit).",
                         where=loaded.origins.get("fit"),
                         hint="Raise --time-limit, or probe fewer steps (--steps) or seeds (--seeds).")
    reasons = sorted({run.reason for run in baseline.runs if run.reason})
    detail = next((run.traceback for run in baseline.runs if run.traceback), None)
    return ErrorInfo(type=ErrorKind.TRAINING_FAILED, message="Training could not run: " + "; ".join(reasons),
                     where=loaded.origins.get("fit"), detail=detail,
                     hint="The findings above usually name the cause (labels, shapes, loss).")


def preflight(context: Context) -> list[Finding]:
    """The pre-flight findings. A model with several outputs is read one output at a time (its
    own loss, targets and output layer, through a one-output view of the model), so a finding
    says which output it is about; what every output shares (the inputs) is said once."""
    heads = task_module.output_heads(context.model, context.loss, context.data.y)
    if not heads:
        return findings.run(Stage.PREFLIGHT, context)
    import keras

    per_output = []
    y_val = context.data.y_val
    val_heads = task_module.output_heads(context.model, context.loss, y_val) if y_val is not None else []
    for index, (head, task) in enumerate(zip(heads, context.task.outputs, strict=False)):
        try:
            model = keras.Model(context.model.inputs, context.model.outputs[index])
        except Exception:  # noqa: BLE001 - a graph with no one-output view: read it whole
            return findings.run(Stage.PREFLIGHT, context)
        data = replace(context.data, y=head.y, y_val=val_heads[index].y if val_heads else None)
        view = replace(context, model=model, loss=head.loss, task=task, data=data, cache={})
        per_output.append((head.name, findings.run(Stage.PREFLIGHT, view)))
    return findings.by_output(per_output)


def describe(loaded: Loaded, setup: TrainSetup) -> dict[str, Any]:
    """What was captured, in plain data for the report."""
    model = loaded.model
    layers = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        layers.append({
            "name": layer.name,
            "class": type(layer).__name__,
            "activation": task_module.layer_activation(layer) if hasattr(layer, "activation") else None,
            "units": getattr(layer, "units", None) or getattr(layer, "filters", None),
            "params": int(sum(int(np.prod(v.shape)) for v in layer.weights)),
            "origin": getattr(layer, "_nanfix_origin", None),
        })
    optimizer = setup.optimizer_settings
    return {
        "entry": loaded.entry,
        "script": os.path.basename(loaded.script),
        "model": {"class": type(model).__name__, "layers": layers,
                  "params": int(sum(int(np.prod(v.shape)) for v in model.weights)),
                  "train_step": custom_train_step(model)},
        "optimizer": {"class": setup.optimizer_name,
                      **{k: v for k, v in optimizer.items() if v is not None
                         and k in ("learning_rate", "epsilon", "momentum", "clipnorm", "clipvalue",
                                  "global_clipnorm", "beta_1", "beta_2", "nesterov")}},
        "loss": task_module.loss_name(setup.loss) if not setup.task.outputs else
        ", ".join(f"{head.output_name}={head.loss_name}" for head in setup.task.outputs),
        "task": setup.task.describe(),
        "data": loaded.data.describe(),
        "origins": loaded.origins,
        "fit_steps": loaded.fit_steps,
        # the script draws its data at random: each probe seed k drew its own, under script seed k
        "draws": {"script_seeds": [loaded.seed + seed for seed in sorted(setup.draws)]} if setup.draws else None,
        "legacy": [list(item) for item in (loaded.capture.legacy if loaded.capture else [])],
    }
