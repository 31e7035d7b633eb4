"""What to train: the model, its compile settings and its data, from wherever the user said.

Three entries, one result (`Loaded`):

- the script's first `fit` (`nanfix.capture.script.run_script`), the usual case;
- the explicit entry: a script that defines `build_model()` and `load_data()` (or is given
  `--data`) and never calls fit;
- a dataset config (`--data data.yaml`), which replaces the arrays given to fit.

Everything the user can get wrong here (no loss, no data, data that cannot be read) becomes a
`LoadError` with its `ErrorKind` and a plain message; the session turns it into the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nanfix.capture import dataset_config, training_data
from nanfix.capture.hooks import Capture, stop_capturing
from nanfix.capture.script import SCRIPT_SEED, ScriptFailed, run_script
from nanfix.config import Settings
from nanfix.records import ErrorKind


class LoadError(Exception):
    """The training could not be loaded; the report says why (no verdict on training)."""

    def __init__(self, kind: ErrorKind, message: str, where: str | None = None,
                 hint: str | None = None, detail: str = ""):
        super().__init__(message)
        self.kind, self.message, self.where, self.hint, self.detail = kind, message, where, hint, detail


@dataclass
class Loaded:
    script: str
    model: Any
    compile_args: dict[str, Any]
    data: training_data.TrainingData
    capture: Capture | None
    entry: str  # "fit" | "build_model"
    origins: dict[str, str | None] = field(default_factory=dict)
    seconds_before_examine: float = 0.0  # TensorFlow start and the script's own work
    fit_steps: int | None = None  # the optimizer steps the script's own fit would run
    argv: list[str] = field(default_factory=list)  # the script's arguments
    data_path: str | None = None  # the dataset config (--data), if any
    seed: int = 0  # the script seed it ran under
    random_draws: bool = False  # the script drew from an unseeded generator before fit


def load(script: str, argv: list[str], data_path: str | None, settings: Settings,
         text: str | None = None, seed: int | None = None) -> Loaded:
    """Run the script to its first fit (or its explicit entry) and collect what it trains;
    with `text`, that source in the script's place (a fix's patched copy). The script's
    unseeded generators are seeded with `seed` (default: the settings' `script_seed`, else
    `SCRIPT_SEED`)."""
    if seed is None:
        seed = SCRIPT_SEED if settings.script_seed is None else settings.script_seed
    try:
        captured = run_script(script, argv, text, seed=seed)
        entry, model, compile_args, origins = "fit", captured.model, captured.compile_args, captured.origins
        fit_args = captured.fit_args
    except ScriptFailed as failure:
        if failure.kind is not ErrorKind.NO_FIT or "build_model" not in failure.script_globals:
            raise LoadError(failure.kind, failure.message, failure.where, failure.hint,
                            failure.detail) from None
        captured, entry = None, "build_model"
        model, compile_args, origins = _explicit_model(failure.script_globals)
        if data_path is None and "load_data" not in failure.script_globals:
            raise LoadError(ErrorKind.NO_DATA, "The script defines build_model() but no "
                            "load_data(), and no --data config was given.",
                            hint="Define load_data() returning (x, y) or (x, y, x_val, y_val), "
                                 "or pass --data data.yaml.") from None
        fit_args = {} if data_path else _explicit_data(failure.script_globals["load_data"])
    finally:
        stop_capturing()

    if getattr(model, "optimizer", None) is None or not compile_args.get("loss"):
        raise LoadError(ErrorKind.NOT_COMPILED, "The model reached fit without a loss: compile "
                        "it with model.compile(optimizer=..., loss=...) first.")
    try:
        if data_path:
            default_batch = fit_args.get("batch_size") or 32
            data = dataset_config.load(data_path, default_batch_size=default_batch)
        else:
            data = training_data.from_fit_args(fit_args, settings.max_samples)
    except dataset_config.DataConfigError as error:
        raise LoadError(ErrorKind.DATA_CONFIG, str(error)) from None
    except (ValueError, TypeError) as error:
        raise LoadError(ErrorKind.DATA, f"nanfix could not read the training data passed to "
                        f"fit: {error}") from None
    if settings.batch_size:
        data.batch_size = settings.batch_size
    try:
        steps = training_data.fit_steps(fit_args, data)
    except Exception:  # noqa: BLE001 - a stream that cannot say its length: no horizon from it
        steps = None
    return Loaded(script=script, model=model, compile_args=compile_args, data=data,
                  capture=captured, entry=entry, origins=origins, fit_steps=steps,
                  argv=list(argv), data_path=data_path, seed=seed,
                  random_draws=bool(captured is not None and captured.random_draws))


def _explicit_model(script_globals: dict[str, Any]):
    try:
        model = script_globals["build_model"]()
    except Exception as error:  # noqa: BLE001 - the user's code
        raise LoadError(ErrorKind.SCRIPT_ERROR,
                        f"build_model() raised {type(error).__name__}: {error}") from None
    compile_args = dict(getattr(model, "_nanfix_compile", {}) or {})
    origins = {"compile": getattr(model, "_nanfix_compile_origin", None),
               "optimizer": getattr(getattr(model, "optimizer", None), "_nanfix_origin", None)}
    return model, compile_args, origins


def _explicit_data(load_data) -> dict[str, Any]:
    try:
        loaded = load_data()
    except Exception as error:  # noqa: BLE001 - the user's code
        raise LoadError(ErrorKind.SCRIPT_ERROR,
                        f"load_data() raised {type(error).__name__}: {error}") from None
    if isinstance(loaded, dict):
        return loaded
    if isinstance(loaded, tuple) and len(loaded) in (2, 4):
        fit_args = {"x": loaded[0], "y": loaded[1]}
        if len(loaded) == 4:
            fit_args["validation_data"] = (loaded[2], loaded[3])
        return fit_args
    raise LoadError(ErrorKind.DATA, "load_data() must return (x, y), (x, y, x_val, y_val) or a "
                    "dict of fit arguments")
