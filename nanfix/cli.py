"""The command line: parse, run, render. The work lives in importable modules.

    nanfix probe train.py [-- ARGS]      diagnose and rank the fixes that cure it
    nanfix sweep train.py --lr [GRID]    map one axis (lr, epsilon, clip, scale, output)
    nanfix check train.py                the CI gate: terse, exit 1 when training diverges
    nanfix record train.py               the whole training with the flight recorder on
    nanfix explain CODE                  what a finding means and how to fix it
    nanfix rules                         the catalog of findings
    nanfix config [train.py]             the effective configuration and where it came from
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import tempfile
from typing import Any

import typer
from rich.console import Console

from nanfix import exitcodes
from nanfix.config import Settings
from nanfix.files import check_writable, write_text
from nanfix.records import FixOutcome

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="A training doctor for Keras: finds why training diverges or stalls, "
                       "and measures which fixes cure it.")

FORMATS = ("table", "json", "markdown", "github")
# The script's own arguments come after `--`; an unknown option before it is a typo, which
# click answers with a usage error (exit 2) that names the nearest real options.
SCRIPT_ARGS = {"allow_extra_args": True, "ignore_unknown_options": False}


def _console(stream=None) -> Console:
    return Console(file=stream or sys.stdout, highlight=False, soft_wrap=False)


def _fail_usage(message: str) -> None:
    Console(file=sys.stderr, highlight=False).print(f"nanfix: error: {message}", markup=False)
    raise typer.Exit(exitcodes.USAGE)


def _settings(script: str | None, config_file: str | None, flags: dict[str, Any]) -> tuple[Settings, dict]:
    from nanfix.config import sources

    try:
        return sources.resolve(script, config_file, flags)
    except sources.ConfigError as error:
        _fail_usage(str(error))
        raise  # unreachable


def _executor_flags(executor: str | None, address: str | None, workers: int | None) -> dict[str, Any]:
    """--executor, --address and --workers as settings (an address alone means Ray)."""
    if address is not None and executor is None:
        executor = "ray"
    return {"executor": executor, "address": address, "workers": workers}


def _check_executor(settings: Settings) -> None:
    """Ray is an optional extra: say how to get it before any work is done."""
    if settings.executor != "ray":
        return
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        _fail_usage("--executor ray needs Ray, an optional extra: pip install 'nanfix[ray]' "
                    "(or pip install ray), then run the same command again; without it the "
                    "local executor gives the same report on this machine.")


def _check_backend() -> None:
    backend = os.environ.get("KERAS_BACKEND")
    if backend and backend != "tensorflow":
        _fail_usage(f"KERAS_BACKEND={backend}: nanfix probes training with Keras' TensorFlow "
                    f"backend only (its probes, numerics checks and replay are TensorFlow's). "
                    f"Run it with KERAS_BACKEND=tensorflow (or unset it); a script written for "
                    f"Keras 3 runs unchanged on TensorFlow.")


def _check_script(script: str) -> str:
    _check_backend()
    if not os.path.exists(script):
        _fail_usage(f"{script} does not exist. Give the path of a Python training script, "
                    f"e.g. `nanfix probe train.py`.")
    if os.path.isdir(script):
        _fail_usage(f"{script} is a directory; give the training script inside it, e.g. {script}/train.py.")
    if not script.endswith((".py", ".ipynb")):
        _fail_usage(f"{script} is not a .py file or a notebook (.ipynb); nanfix runs Python "
                    f"training scripts and Jupyter notebooks.")
    return os.path.abspath(script)


def _run(script: str, argv: list[str], settings: Settings, data: str | None, mode: str,
         progress: bool, debug: bool, sweep_axis: str | None = None,
         sweep_grid: list[float] | None = None, resume_from: str | None = None) -> dict[str, Any]:
    from nanfix.executor.local import run_job
    from nanfix.report.progress import ProgressDisplay

    if data is not None and not os.path.exists(data):
        _fail_usage(f"dataset config {data} does not exist.")
    if resume_from is not None:
        _check_resume(resume_from)
    job = {"script": script, "argv": argv, "settings": settings.to_dict(), "mode": mode,
           "data_config": os.path.abspath(data) if data else None,
           "sweep_axis": sweep_axis, "sweep_grid": sweep_grid,
           "resume_from": os.path.abspath(resume_from) if resume_from else None}
    console = _console(sys.stderr)
    with ProgressDisplay(console, enabled=progress and console.is_terminal) as display, \
            tempfile.TemporaryDirectory(prefix="nanfix-notebook-") as scratch:
        if script.endswith(".ipynb"):
            report = _run_notebook(job, scratch, display.update)
        else:
            report = run_job(job, on_event=display.update)
    if debug and report.get("error"):
        detail = report["error"].get("detail")
        if detail:
            sys.stderr.write(detail + "\n")
        if report.get("script_output"):
            sys.stderr.write("--- script output ---\n" + report["script_output"] + "\n")
    return report


def _check_resume(path: str) -> None:
    """--from names a readable flight record or a .keras file (whether it fits the script's
    model is checked once the script has built it)."""
    from nanfix.capture.record import RecordError, describe_source

    try:
        describe_source(path)
    except RecordError as error:
        _fail_usage(str(error))


# `-o FILE` without --format: the file's extension says what it is.
FILE_FORMATS = {".json": "json", ".md": "markdown", ".markdown": "markdown", ".html": "html",
                ".htm": "html", ".xml": "junit"}


def format_of(path: str) -> str:
    """The report format a file name asks for (Markdown when the extension says nothing)."""
    return FILE_FORMATS.get(os.path.splitext(path)[1].lower(), "markdown")


def _check_outputs(output_format: str | None, output: str | None, **files: str | None) -> None:
    """Every output asked for is checked before any work: a format that exists, a file name
    that says its format (or --format says it), and folders that exist and can be written."""
    if output_format is not None and output_format not in FORMATS:
        if output_format in FILE_FORMATS.values() and output:
            pass  # -o report.xml --format junit: the file's format, named twice
        elif output_format in ("html", "junit"):
            _fail_usage(f"--format {output_format} writes a file: give it one with "
                        f"--{output_format} FILE (or -o FILE.{'html' if output_format == 'html' else 'xml'}).")
        else:
            _fail_usage(f"--format must be one of {', '.join(FORMATS)} (got {output_format!r}).")
    if output and output_format in (None, "table") and os.path.splitext(output)[1].lower() not in FILE_FORMATS:
        _fail_usage(f"-o {output}: the file name does not say the report's format; end it in "
                    f"{', '.join(sorted(FILE_FORMATS))} (.xml is JUnit), or give --format.")
    _check_plot(files.get("plot"))
    for flag, path in (("-o", output), *((f"--{name}", value) for name, value in files.items())):
        problem = check_writable(path) if path else None
        if problem:
            _fail_usage(f"{flag} {path}: cannot write the report there: {problem}.")


def _run_notebook(job: dict[str, Any], scratch: str, on_event: Any) -> dict[str, Any]:
    """Run a notebook's code cells as one script, in the notebook's folder as a kernel
    would, and tell every line the report names as its cell and line."""
    from nanfix.capture import notebook
    from nanfix.executor.local import run_job

    path = job["script"]
    try:
        converted = notebook.to_script(path)
    except notebook.NotebookError as error:
        _fail_usage(str(error))
    script = os.path.join(scratch, os.path.splitext(os.path.basename(path))[0] + "_ipynb.py")
    with open(script, "w") as handle:
        handle.write(converted.source)
    report = run_job({**job, "script": script}, on_event=on_event, cwd=os.path.dirname(path))
    report = notebook.relocate(report, os.path.basename(script), converted)
    report["script"] = path
    if report.get("capture"):
        report["capture"]["script"] = os.path.basename(path)
    report["notebook"] = {"cells_skipped_or_changed": converted.notes}
    for fix in report.get("fixes") or []:  # a diff of the cells joined as one script
        if fix.get("diff"):
            fix["diff"] = fix["diff"].replace(os.path.basename(script),
                                              f"{os.path.basename(path)} (code cells as one script)")
    return report


def _emit(report: dict[str, Any], output_format: str, output: str | None, terse: bool = False,
          debug: bool = False) -> None:
    from nanfix.report import render

    if output_format not in FORMATS:
        _fail_usage(f"--format must be one of {', '.join(FORMATS)} (got {output_format!r}).")
    if output:
        file_format = output_format if output_format != "table" else format_of(output)
        try:
            if file_format == "html":
                render.extras(report, html=output)
            elif file_format == "junit":
                render.extras(report, junit=output)
            else:
                write_text(output, render.as_text(report, file_format))
        except OSError as error:
            _fail_usage(f"-o {output}: the report could not be written: {error.strerror or error}.")
    if output_format == "table":
        render.to_terminal(report, _console(), terse=terse, debug=debug)
    elif not output:
        sys.stdout.write(render.as_text(report, output_format))
        sys.stdout.write("\n")


def _extras(report: dict[str, Any], junit: str | None, plot: str | None, html: str | None,
            github_summary: bool) -> None:
    from nanfix.report import render
    from nanfix.report.plot import PlotError

    try:
        render.extras(report, junit=junit, plot=plot, html=html, github_summary=github_summary)
    except (PlotError, OSError) as error:  # checked up front; a folder gone since is a usage error
        _fail_usage(f"a report file could not be written: {getattr(error, 'strerror', None) or error}.")


def _check_plot(plot: str | None) -> None:
    if plot:
        from nanfix.report.plot import PlotError, check_plot_path

        try:
            check_plot_path(plot)
        except PlotError as error:
            _fail_usage(str(error))


def _finish(report: dict[str, Any], exit_zero: bool, fail_on: str) -> None:
    code = exitcodes.for_report(report, fail_on)
    raise typer.Exit(0 if exit_zero and code == exitcodes.TRAINING_PROBLEM else code)


def _default_format() -> str:
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "table"


@app.command(context_settings=SCRIPT_ARGS)
def probe(
    ctx: typer.Context,
    script: str = typer.Argument(..., help="The training script, run as `python SCRIPT ARGS`."),
    data: str | None = typer.Option(None, "--data", help="Dataset config (YAML) feeding the model."),
    resume_from: str | None = typer.Option(None, "--from", help="Start every probe from a flight "
                                           "record (NanGuard(record=DIR)) or a .keras checkpoint."),
    seeds: int | None = typer.Option(None, help="Seeds to probe (default 3)."),
    script_seed: int | None = typer.Option(None, "--script-seed",
                                           help="Seed the script's own unseeded draws with N (one draw; "
                                                "default: each probe seed draws its own when the data is random)."),
    steps: int | None = typer.Option(None, help="Training steps per seed (default 300)."),
    time_limit: float | None = typer.Option(None, "--time-limit", help="Seconds for the whole run."),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Override the script's batch size."),
    max_samples: int | None = typer.Option(None, "--max-samples", help="Rows of training data to use."),
    memory_limit: int | None = typer.Option(None, "--memory-limit", help="MiB before the run is stopped."),
    fixes: bool | None = typer.Option(None, "--fixes/--no-fixes", help="Try candidate fixes (default on)."),
    max_fixes: int | None = typer.Option(None, "--max-fixes", help="Most candidate fixes to probe."),
    stack_seeds: bool | None = typer.Option(None, "--stack-seeds/--no-stack-seeds",
                                            help="Train a probe's seeds in one compiled step."),
    executor: str | None = typer.Option(None, "--executor", help="Where fixes train: local | ray."),
    address: str | None = typer.Option(None, "--address", help="The Ray cluster (--executor ray; "
                                       "default: start one here)."),
    workers: int | None = typer.Option(None, "--workers", help="Ray workers (default: one per CPU, at most 8)."),
    plan: str | None = typer.Option(None, "--plan", help="YAML plan: fix families and grids."),
    config: str | None = typer.Option(None, "--config", help="nanfix.yaml (else [tool.nanfix] in pyproject.toml)."),
    output_format: str = typer.Option(None, "--format", help="table | json | markdown | github."),
    output: str | None = typer.Option(None, "--output", "--out", "-o", help="Write the report to FILE."),
    junit: str | None = typer.Option(None, "--junit", help="Write JUnit XML to FILE."),
    plot: str | None = typer.Option(None, "--plot", help="Write loss curves to FILE.png/.svg."),
    html: str | None = typer.Option(None, "--html", help="Write a self-contained HTML report."),
    apply: bool = typer.Option(False, "--apply", help="Write the top cure as SCRIPT.nanfix.py next to it."),
    in_place: bool = typer.Option(False, "--in-place",
                                  help="With --apply: write the cure into SCRIPT itself, keeping SCRIPT.orig."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No live progress display."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when training is broken."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and the script's output."),
) -> None:
    """Diagnose a training script and rank the fixes that measurably cure it."""
    script = _check_script(script)
    _check_outputs(output_format, output, junit=junit, plot=plot, html=html)
    flags = {"seeds": seeds, "script_seed": script_seed, "steps": steps, "time_limit": time_limit,
             "batch_size": batch_size,
             "max_samples": max_samples, "memory_limit_mb": memory_limit, "sweeps": fixes,
             "max_fixes": max_fixes, "plan": plan, "stack_seeds": stack_seeds,
             **_executor_flags(executor, address, workers)}
    settings, _ = _settings(script, config, flags)
    _check_executor(settings)
    report = _run(script, list(ctx.args), settings, data, "probe", not no_progress, debug,
                  resume_from=resume_from)
    _emit(report, output_format or _default_format(), output, debug=debug)
    _extras(report, junit, plot, html, github_summary=(output_format or _default_format()) == "github")
    if in_place and not apply:
        _fail_usage("--in-place writes the top cure into the script: give it with --apply.")
    if apply:
        _apply_top_fix(report, script, in_place)
    _finish(report, exit_zero, "any")


@app.command(context_settings=SCRIPT_ARGS)
def check(
    ctx: typer.Context,
    script: str = typer.Argument(..., help="The training script."),
    data: str | None = typer.Option(None, "--data", help="Dataset config (YAML) feeding the model."),
    resume_from: str | None = typer.Option(None, "--from", help="Start every probe from a flight "
                                           "record (NanGuard(record=DIR)) or a .keras checkpoint."),
    seeds: int | None = typer.Option(None, help="Seeds to probe."),
    script_seed: int | None = typer.Option(None, "--script-seed",
                                           help="Seed the script's own unseeded draws with N (one draw; "
                                                "default: each probe seed draws its own when the data is random)."),
    steps: int | None = typer.Option(None, help="Training steps per seed."),
    time_limit: float | None = typer.Option(None, "--time-limit", help="Seconds for the whole run."),
    fail_on: str | None = typer.Option(None, "--fail-on", help="diverges | stalls | any."),
    fixes: bool = typer.Option(False, "--fixes/--no-fixes", help="Also run the fix sweeps."),
    executor: str | None = typer.Option(None, "--executor", help="Where fixes train: local | ray."),
    address: str | None = typer.Option(None, "--address", help="The Ray cluster (--executor ray; "
                                       "default: start one here)."),
    workers: int | None = typer.Option(None, "--workers", help="Ray workers (default: one per CPU, at most 8)."),
    config: str | None = typer.Option(None, "--config", help="nanfix.yaml (else [tool.nanfix])."),
    output_format: str = typer.Option(None, "--format", help="table | json | markdown | github."),
    output: str | None = typer.Option(None, "--output", "--out", "-o", help="Write the report to FILE."),
    junit: str | None = typer.Option(None, "--junit", help="Write JUnit XML to FILE."),
    plot: str | None = typer.Option(None, "--plot", help="Write loss curves to FILE.png/.svg."),
    html: str | None = typer.Option(None, "--html", help="Write a self-contained HTML report."),
    no_progress: bool = typer.Option(True, "--no-progress/--progress", help="Live progress display."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when training is broken."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and the script's output."),
) -> None:
    """CI gate: exit 1 when training diverges (or stalls, with --fail-on)."""
    script = _check_script(script)
    _check_outputs(output_format, output, junit=junit, plot=plot, html=html)
    flags = {"seeds": seeds, "script_seed": script_seed, "steps": steps, "time_limit": time_limit,
             "fail_on": fail_on,
             "sweeps": fixes, **_executor_flags(executor, address, workers)}
    settings, _ = _settings(script, config, flags)
    _check_executor(settings)
    if settings.fail_on not in ("diverges", "stalls", "any"):
        _fail_usage(f"--fail-on must be diverges, stalls or any (got {settings.fail_on!r}).")
    report = _run(script, list(ctx.args), settings, data, "probe" if settings.sweeps else "check",
                  not no_progress, debug, resume_from=resume_from)
    fmt = output_format or _default_format()
    _emit(report, fmt, output, terse=True, debug=debug)
    _extras(report, junit, plot, html, github_summary=fmt == "github")
    _finish(report, exit_zero, settings.fail_on)


AXES = ("lr", "epsilon", "clip", "scale", "output")
NUMERIC_AXES = ("lr", "epsilon", "clip")


@app.command(context_settings=SCRIPT_ARGS)
def sweep(
    ctx: typer.Context,
    script: str = typer.Argument(..., help="The training script."),
    lr: bool = typer.Option(False, "--lr", help="Sweep the learning rate: --lr [1,0.1,0.01]."),
    epsilon: bool = typer.Option(False, "--epsilon", help="Sweep the optimizer's epsilon."),
    clip: bool = typer.Option(False, "--clip", help="Sweep gradient clipping (clipnorm)."),
    scale: bool = typer.Option(False, "--scale", help="Sweep input scaling: none, divide-255, ..."),
    output_pairing: bool = typer.Option(False, "--output", "--pairing",
                                        help="Sweep the output activation / loss pairing."),
    grid: str | None = typer.Option(None, "--grid", help="The values, comma-separated: 1,0.3,0.1 "
                                    "(names for --scale and --output)."),
    data: str | None = typer.Option(None, "--data", help="Dataset config (YAML) feeding the model."),
    resume_from: str | None = typer.Option(None, "--from", help="Start every probe from a flight "
                                           "record (NanGuard(record=DIR)) or a .keras checkpoint."),
    seeds: int | None = typer.Option(None, help="Seeds per value."),
    script_seed: int | None = typer.Option(None, "--script-seed",
                                           help="Seed the script's own unseeded draws with N (one draw; "
                                                "default: each probe seed draws its own when the data is random)."),
    steps: int | None = typer.Option(None, help="Training steps per seed."),
    time_limit: float | None = typer.Option(None, "--time-limit", help="Seconds for the whole run."),
    config: str | None = typer.Option(None, "--config", help="nanfix.yaml (else [tool.nanfix])."),
    output_format: str = typer.Option(None, "--format", help="table | json | markdown."),
    output: str | None = typer.Option(None, "-o", "--out", help="Write the report to FILE."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No live progress display."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when training is broken."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and the script's output."),
) -> None:
    """Explore one axis and show where training is stable.

    Here `--output` is the axis (output activation / loss pairs); write the report to a
    file with `-o FILE` / `--out FILE`.
    """
    script = _check_script(script)
    _check_outputs(output_format, output)
    chosen = [name for name, on in zip(AXES, (lr, epsilon, clip, scale, output_pairing), strict=True) if on]
    if len(chosen) != 1:
        _fail_usage("choose exactly one axis: --lr, --epsilon, --clip, --scale or --output.")
    values = _grid(chosen[0], grid) if grid else None
    flags = {"seeds": seeds, "script_seed": script_seed, "steps": steps, "time_limit": time_limit,
             "sweeps": False}
    settings, _ = _settings(script, config, flags)
    report = _run(script, list(ctx.args), settings, data, "sweep", not no_progress, debug,
                  sweep_axis=chosen[0], sweep_grid=values, resume_from=resume_from)
    _emit(report, output_format or "table", output, debug=debug)
    _finish(report, exit_zero, "any")


def _grid(axis: str, text: str) -> list[Any]:
    """`--grid` (or the value after the axis flag): numbers, or names for scale/output."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        _fail_usage(f"--grid is empty (got {text!r}); give comma-separated values, e.g. 1,0.1,0.01.")
    if axis not in NUMERIC_AXES:
        return items  # names; the worker checks them against the choices for this script
    try:
        numbers = [float(item) for item in items]
    except ValueError:
        _fail_usage(f"--grid for --{axis} must be comma-separated numbers, e.g. 1,0.1,0.01 (got {text!r}).")
        raise  # unreachable
    if any(not (number > 0 and number < float("inf")) for number in numbers):
        _fail_usage(f"--grid for --{axis} must be positive numbers (got {text!r}).")
    return numbers


def _axis_values(argv: list[str]) -> list[str]:
    """`nanfix sweep train.py --lr 1,0.1` means `--lr --grid 1,0.1`.

    The issue's spelling puts the grid right after the axis flag; click cannot give a flag an
    optional value, so the value is moved to --grid before parsing. Only a token that looks
    like a grid moves (numbers or names joined by commas, or one number), so a script
    argument after `--` is never taken.
    """
    if len(argv) < 2 or argv[1] != "sweep":
        return argv
    out = list(argv)
    for index in range(2, len(out) - 1):
        if out[index] == "--":
            break
        flag = out[index][2:] if out[index].startswith("--") else None
        value = out[index + 1]
        # a numeric axis takes whatever follows it as its grid (a value that is no number is
        # then refused, before any work), unless it is the next option or the script
        numeric = flag in NUMERIC_AXES and not value.startswith("-") and not value.endswith((".py", ".ipynb"))
        if flag in (*AXES, "pairing") and (numeric or _looks_like_grid(value, flag in NUMERIC_AXES)):
            return out[:index + 1] + ["--grid", value] + out[index + 2:]
    return out


def _looks_like_grid(token: str, numeric: bool) -> bool:
    if token.startswith("-") or token.endswith(".py"):
        return False
    if numeric:
        try:
            [float(item) for item in token.split(",") if item]
            return True
        except ValueError:
            return False
    return "," in token or token.replace("-", "").replace("_", "").isalnum() and "." not in token


@app.command(context_settings=SCRIPT_ARGS)
def record(
    ctx: typer.Context,
    script: str = typer.Argument(..., help="The training script, run whole as `python SCRIPT ARGS`."),
    to: str = typer.Option("nanfix-record", "--to", help="Where the flight record is written."),
    every: int = typer.Option(50, "--every", help="Steps between two snapshots of the state."),
) -> None:
    """Run the whole training with the flight recorder on; probe the failure with --from.

    The script runs unmodified, with its own output; every fit gets NanGuard(record=DIR).
    Exit 1 when training failed and the record was written, 0 when it finished without a
    failure, 3 when the script itself failed."""
    script = _check_script(script)
    if script.endswith(".ipynb"):
        _fail_usage("nanfix record runs Python scripts; in a notebook, add "
                    "NanGuard(record=DIR) to the fit's callbacks.")
    if every < 1:
        _fail_usage(f"--every must be at least 1 (got {every}).")
    import subprocess

    from nanfix.capture.record import MANIFEST

    target = os.path.abspath(to)
    if os.path.exists(os.path.join(target, MANIFEST)):
        os.remove(os.path.join(target, MANIFEST))  # what is there after the run is this run's
    code = subprocess.call([sys.executable, "-m", "nanfix.guard.launch", target, str(every), script,
                            *ctx.args])
    console = _console(sys.stderr)
    if os.path.exists(os.path.join(target, MANIFEST)):
        shown = os.path.relpath(script)
        console.print(f"nanfix: flight record written to {to}; next: nanfix probe "
                      f"{script if shown.startswith('..') else shown} --from {to}", markup=False)
        raise typer.Exit(exitcodes.TRAINING_PROBLEM)
    if code != 0:
        console.print(f"nanfix: the script exited with status {code} before any training failure "
                      "was recorded.", markup=False)
        raise typer.Exit(exitcodes.SCRIPT_FAILED)
    console.print("nanfix: training finished without a failure; nothing was recorded.", markup=False)


@app.command()
def explain(code: str = typer.Argument(..., help="A finding code, e.g. N701.")) -> None:
    """Print what a finding means and how to fix it."""
    from nanfix import findings, fixes
    from nanfix.report.terminal import render_rule

    entry = findings.get(code)
    if entry is None:
        _fail_usage(f"no finding with code {code!r}; `nanfix rules` lists them.")
    render_rule(entry, fixes.families_for(entry.code), _console())


@app.command()
def rules(output_format: str = typer.Option("table", "--format", help="table | json.")) -> None:
    """List the catalog of findings."""
    from nanfix import findings, fixes
    from nanfix.report.terminal import render_rules

    if output_format == "json":
        entries = [{"code": r.code, "name": r.name, "title": r.title, "severity": r.severity.value,
                    "stage": r.stage.value, "fix_families": fixes.families_for(r.code)} for r in findings.RULES.values()]
        sys.stdout.write(json.dumps(sorted(entries, key=lambda e: e["code"]), indent=2) + "\n")
        return
    render_rules(list(findings.RULES.values()), _console())


@app.command("config")
def show_config(
    script: str | None = typer.Argument(None, help="Find [tool.nanfix] from this script's directory."),
    config: str | None = typer.Option(None, "--config", help="nanfix.yaml."),
    output_format: str = typer.Option("table", "--format", help="table | json."),
) -> None:
    """Print the effective configuration and where each value came from."""
    from nanfix.report.terminal import render_config

    settings, sources = _settings(os.path.abspath(script) if script else None, config, {})
    if output_format == "json":
        sys.stdout.write(json.dumps({"settings": settings.to_dict(), "sources": sources}, indent=2) + "\n")
        return
    render_config(settings, sources, _console())


def _apply_top_fix(report: dict[str, Any], script: str, in_place: bool = False) -> None:
    """Write the first measured cure that has a diff (checked on its patched script, where the
    sweep could check it), and say how to run what was written."""
    console = _console(sys.stderr)
    best = next((fix for fix in report.get("fixes", [])
                 if fix.get("outcome") == FixOutcome.CURES and fix.get("diff")), None)
    if best is None:
        console.print("nanfix: --apply: no measured cure with a source change to apply.")
        return
    from nanfix.fixes.source.apply import PatchError, apply_patch

    try:
        if script.endswith(".ipynb"):
            path = _apply_to_notebook(script, best["diff"])
        else:
            path = apply_patch(script, best["diff"], in_place=in_place)
    except (PatchError, OSError) as error:
        _fail_usage(f"--apply: {error}. Nothing was written; run the probe again on the script as it is.")
    kept = f"your script is kept as {os.path.basename(script)}.orig" if in_place else "your script is unchanged"
    checked = " (checked: its patched script cures)" if best.get("verified") else ""
    console.print(f"nanfix: wrote {path} with fix {best['id']} applied{checked}; {kept}.", markup=False)
    runner = "jupyter nbconvert --execute --to notebook" if path.endswith(".ipynb") else "python"
    console.print(f"nanfix: run it with: {runner} {shlex.quote(os.path.relpath(path))}", markup=False)


def _apply_to_notebook(path: str, diff: str) -> str:
    """The notebook with the fix in its cells, as NOTEBOOK.nanfix.ipynb next to it."""
    from nanfix.capture import notebook
    from nanfix.fixes.source.apply import apply_diff

    converted = notebook.to_script(path)
    return notebook.to_notebook(converted, apply_diff(converted.source, diff), notebook.patched_path(path))


def main() -> None:
    sys.argv = _axis_values(sys.argv)
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("nanfix: interrupted\n")
        sys.exit(130)


if __name__ == "__main__":
    main()
