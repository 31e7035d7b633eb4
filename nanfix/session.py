"""One doctor's visit, inside the worker: load the training, examine it, write the report.

`load` gets the model, compile settings and data, from the script's first fit, from the
explicit entry (`build_model()` / `load_data()`), and/or from a dataset config. `examine`
runs the pipeline in one direction: pre-flight findings, baseline probe, numerics replay,
probe findings, verdict, then the fix sweeps.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np

from nanfix import capture, findings, localize, trainingdata
from nanfix import data as data_config
from nanfix import task as task_module
from nanfix.config import Settings
from nanfix.probe import Deadline, probe
from nanfix.results import Outcome, ProbeResult, Report, Verdict
from nanfix.trainsetup import TrainSetup, build_trainer, from_capture


class LoadError(Exception):
    def __init__(self, kind: str, message: str, where: str | None = None, hint: str | None = None,
                 detail: str = ""):
        super().__init__(message)
        self.kind, self.message, self.where, self.hint, self.detail = kind, message, where, hint, detail


@dataclass
class Loaded:
    script: str
    model: Any
    compile_args: dict[str, Any]
    data: trainingdata.TrainingData
    capture: capture.Capture | None
    entry: str  # "fit" | "build_model"
    origins: dict[str, str | None] = field(default_factory=dict)
    seconds_before_examine: float = 0.0  # TensorFlow start and the script's own work


def load(script: str, argv: list[str], data_path: str | None, settings: Settings) -> Loaded:
    """Run the script to its first fit (or its explicit entry) and collect what it trains."""
    try:
        captured = capture.run_script(script, argv)
        entry, model, compile_args, origins = "fit", captured.model, captured.compile_args, captured.origins
    except capture.ScriptFailed as failure:
        if failure.kind != "no_fit" or "build_model" not in failure.script_globals:
            raise LoadError(failure.kind, failure.message, failure.where, failure.hint,
                            failure.detail) from None
        captured, entry = None, "build_model"
        model, compile_args, origins = _explicit_model(failure.script_globals)
        if data_path is None and "load_data" not in failure.script_globals:
            raise LoadError("no_data", "The script defines build_model() but no load_data(), and "
                            "no --data config was given.",
                            hint="Define load_data() returning (x, y) or (x, y, x_val, y_val), "
                                 "or pass --data data.yaml.") from None
        if data_path is None:
            fit_args = _explicit_data(failure.script_globals["load_data"])
    finally:
        capture.stop_capturing()

    if getattr(model, "optimizer", None) is None or not compile_args.get("loss"):
        raise LoadError("not_compiled", "The model reached fit without a loss: compile it with "
                        "model.compile(optimizer=..., loss=...) first.")
    fit_args = captured.fit_args if captured is not None else locals().get("fit_args", {})
    try:
        if data_path:
            default_batch = (fit_args or {}).get("batch_size") or 32
            data = data_config.load(data_path, default_batch_size=default_batch)
        else:
            data = trainingdata.from_fit_args(fit_args, settings.max_samples)
    except data_config.DataConfigError as error:
        raise LoadError("data_config", str(error)) from None
    except (ValueError, TypeError) as error:
        raise LoadError("data", f"nanfix could not read the training data passed to fit: {error}") from None
    if settings.batch_size:
        data.batch_size = settings.batch_size
    return Loaded(script=script, model=model, compile_args=compile_args, data=data,
                  capture=captured, entry=entry, origins=origins)


def _explicit_model(script_globals: dict[str, Any]):
    try:
        model = script_globals["build_model"]()
    except Exception as error:  # noqa: BLE001 - the user's code
        raise LoadError("script_error", f"build_model() raised {type(error).__name__}: {error}") from None
    compile_args = dict(getattr(model, "_nanfix_compile", {}) or {})
    origins = {"compile": getattr(model, "_nanfix_compile_origin", None),
               "optimizer": getattr(getattr(model, "optimizer", None), "_nanfix_origin", None)}
    return model, compile_args, origins


def _explicit_data(load_data) -> dict[str, Any]:
    try:
        loaded = load_data()
    except Exception as error:  # noqa: BLE001 - the user's code
        raise LoadError("script_error", f"load_data() raised {type(error).__name__}: {error}") from None
    if isinstance(loaded, dict):
        return loaded
    if isinstance(loaded, tuple) and len(loaded) in (2, 4):
        fit_args = {"x": loaded[0], "y": loaded[1]}
        if len(loaded) == 4:
            fit_args["validation_data"] = (loaded[2], loaded[3])
        return fit_args
    raise LoadError("data", "load_data() must return (x, y), (x, y, x_val, y_val) or a dict of fit arguments")


def verdict_of(baseline: ProbeResult) -> Verdict:
    if baseline.count(Outcome.DIVERGED):
        return Verdict.DIVERGES
    if baseline.count(Outcome.STALLED):
        return Verdict.STALLS
    if baseline.seeds_ok:
        return Verdict.HEALTHY
    return Verdict.ERROR


def examine(loaded: Loaded, settings: Settings, emit, mode: str = "probe",
            sweep_axis: str | None = None, sweep_grid: list[float] | None = None) -> Report:
    from nanfix import sweep
    from nanfix.findings.base import Context

    deadline = Deadline(settings.time_limit - loaded.seconds_before_examine)
    model = loaded.model
    loss = loaded.compile_args.get("loss")
    task = task_module.infer(model, loss, loaded.data.y)
    setup = from_capture(model, model.optimizer, loss, loaded.data, task,
                         loss_weights=loaded.compile_args.get("loss_weights"))
    context = Context(model=model, optimizer=model.optimizer, loss=loss, task=task, data=loaded.data,
                      settings=settings, capture=loaded.capture)
    report = Report(script=loaded.script, verdict=Verdict.HEALTHY, settings=settings.to_dict(),
                    capture=describe(loaded, setup))
    report.findings = findings.run("preflight", context)

    if mode == "sweep":
        try:  # a value that is not a choice here is the user's typo: say so before training
            for value in sweep_grid or []:
                sweep.axis_fix(sweep_axis, value, setup)
        except ValueError as error:
            raise LoadError("usage", str(error)) from None
    emit({"event": "phase", "phase": "baseline probe"})
    trainer = build_trainer(setup, settings.eval_samples)
    if mode == "sweep":
        report.sweep = sweep.sweep_axis(setup, sweep_axis, sweep_grid, settings, deadline, emit)
    baseline = probe(trainer, "baseline", settings, deadline, on_progress=emit)
    report.baseline = baseline
    context.numerics = _replay_first_nonfinite(trainer, baseline)
    context.baseline = baseline
    report.findings = findings.ordered(report.findings + findings.run("probe", context))
    report.verdict = verdict_of(baseline)
    if report.verdict is Verdict.ERROR:
        from nanfix.results import ErrorInfo

        reasons = sorted({run.reason for run in baseline.runs if run.reason})
        report.error = ErrorInfo(type="training_failed",
                                 message="Training could not run: " + "; ".join(reasons),
                                 where=loaded.origins.get("fit"),
                                 hint="The findings above usually name the cause (labels, shapes, loss).")
    wants_fixes = settings.sweeps and mode == "probe" and report.verdict in (Verdict.DIVERGES, Verdict.STALLS)
    if wants_fixes:
        emit({"event": "phase", "phase": "trying fixes"})
        # explicit entry (build_model/load_data) has no Capture, but its origins still
        # point at the optimizer and compile lines, so the fixes get their diffs
        source = loaded.capture or SimpleNamespace(script=loaded.script, origins=loaded.origins)
        report.fixes = sweep.find_fixes(setup, baseline, report.findings, settings, deadline, emit,
                                        capture=source)
    return report


def _replay_first_nonfinite(trainer, baseline: ProbeResult) -> dict[str, Any]:
    runs = [run for run in baseline.runs if run.first_nonfinite is not None]
    if not runs:
        return {}
    run = min(runs, key=lambda r: r.first_nonfinite.step)
    result = localize.replay(trainer, run.seed, run.first_nonfinite.step)
    if result.get("op"):
        run.first_nonfinite.op = result["op"]
        run.first_nonfinite.stage = result.get("stage") or run.first_nonfinite.stage
    return result


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
                  "params": int(sum(int(np.prod(v.shape)) for v in model.weights))},
        "optimizer": {"class": setup.optimizer_name,
                      **{k: v for k, v in optimizer.items() if v is not None
                         and k in ("learning_rate", "epsilon", "momentum", "clipnorm", "clipvalue",
                                  "global_clipnorm", "beta_1", "beta_2", "nesterov")}},
        "loss": task_module.loss_name(setup.loss),
        "task": setup.task.describe(),
        "data": loaded.data.describe(),
        "origins": loaded.origins,
        "legacy": [list(item) for item in (loaded.capture.legacy if loaded.capture else [])],
    }
