"""Run the user's unmodified script and take over at its first `Model.fit`.

The script runs as `python train.py ARGS` would: as `__main__`, with its own `sys.argv`, its
directory first on `sys.path`, relative paths resolved from the current directory. Before it
starts we install small hooks on Keras:

- `Model.compile` records its arguments and the line that called it;
- every `Layer` and optimizer remembers the script line that created it;
- every Keras variable remembers its initializer, so each probe seed can draw fresh weights
  from the model's own initializers;
- `Model.fit` records its arguments and stops the script by raising `FitIntercepted`
  (a BaseException, so a user's `except Exception` around fit does not swallow it);
- `tf.GradientTape.gradient` called before any fit means a custom training loop, which we
  say plainly rather than run the user's whole training.

The user's full training never runs.
"""

from __future__ import annotations

import inspect
import os
import runpy
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any

from nanfix import compat
from nanfix.origins import remember, user_line


class FitIntercepted(BaseException):
    """Raised from the hooked fit to unwind the user's script with what it passed."""

    def __init__(self, capture: Capture):
        super().__init__("fit intercepted by nanfix")
        self.capture = capture


class CustomLoop(BaseException):
    def __init__(self, where: str | None):
        super().__init__("custom GradientTape training loop")
        self.where = where


class ScriptFailed(Exception):
    """The user's script raised (or exited) before reaching fit."""

    def __init__(self, kind: str, message: str, where: str | None, hint: str | None, detail: str,
                 script_globals: dict[str, Any] | None = None):
        super().__init__(message)
        self.script_globals = script_globals or {}
        self.kind = kind
        self.message = message
        self.where = where
        self.hint = hint
        self.detail = detail


@dataclass
class Capture:
    """What the script was about to train: model, compile settings and fit arguments."""

    script: str
    model: Any
    compile_args: dict[str, Any]
    fit_args: dict[str, Any]
    origins: dict[str, str | None] = field(default_factory=dict)
    legacy: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def optimizer(self):
        return self.model.optimizer

    @property
    def loss(self):
        return self.compile_args.get("loss")


_hooks_installed = False
_capturing = False  # True only while run_script runs the user's script


def install_hooks(script_path: str) -> None:
    """Patch Keras so that running the script yields a Capture instead of a training run."""
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True

    import keras
    import tensorflow as tf
    from keras.src.backend.common import variables as keras_variables

    compat.install(script_path)

    # Each variable keeps its initializer so probes can re-draw weights per seed.
    variable_class = keras_variables.Variable
    original_variable_init = variable_class.__init__

    def variable_init(self, initializer=None, *args, **kwargs):
        original_variable_init(self, initializer, *args, **kwargs)
        if callable(initializer) or isinstance(initializer, str):
            remember(self, "_nanfix_initializer", initializer)

    variable_class.__init__ = variable_init

    layer_class = keras.layers.Layer
    original_layer_init = layer_class.__init__

    def layer_init(self, *args, **kwargs):
        if getattr(self, "_nanfix_origin", None) is None:
            remember(self, "_nanfix_origin", user_line(script_path))
        original_layer_init(self, *args, **kwargs)

    layer_class.__init__ = layer_init

    optimizer_class = keras.optimizers.Optimizer
    original_optimizer_init = optimizer_class.__init__

    def optimizer_init(self, *args, **kwargs):
        if getattr(self, "_nanfix_origin", None) is None:
            remember(self, "_nanfix_origin", user_line(script_path))
        original_optimizer_init(self, *args, **kwargs)

    optimizer_class.__init__ = optimizer_init

    model_class = keras.Model
    original_compile = model_class.compile
    compile_signature = inspect.signature(original_compile)

    def compile_hook(self, *args, **kwargs):
        bound = compile_signature.bind(self, *args, **kwargs)
        arguments = dict(bound.arguments)
        arguments.pop("self", None)
        arguments.update(arguments.pop("kwargs", {}) or {})
        remember(self, "_nanfix_compile", arguments)
        remember(self, "_nanfix_compile_origin", user_line(script_path))
        return original_compile(self, *args, **kwargs)

    model_class.compile = compile_hook

    original_fit = model_class.fit
    fit_signature = inspect.signature(original_fit)

    def fit_hook(self, *args, **kwargs):
        if not _capturing:  # nanfix's own code (or a test) after the capture: a normal fit
            return original_fit(self, *args, **kwargs)
        bound = fit_signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        arguments.pop("self", None)
        arguments.update(arguments.pop("kwargs", {}) or {})
        origins = {
            "fit": user_line(script_path),
            "compile": getattr(self, "_nanfix_compile_origin", None),
            "optimizer": getattr(getattr(self, "optimizer", None), "_nanfix_origin", None),
        }
        capture = Capture(
            script=script_path,
            model=self,
            compile_args=dict(getattr(self, "_nanfix_compile", {}) or {}),
            fit_args=arguments,
            origins=origins,
            legacy=list(compat.USED),
        )
        raise FitIntercepted(capture)

    model_class.fit = fit_hook

    original_gradient = tf.GradientTape.gradient

    def gradient_hook(self, *args, **kwargs):
        if _capturing:
            raise CustomLoop(user_line(script_path))
        return original_gradient(self, *args, **kwargs)

    tf.GradientTape.gradient = gradient_hook


def stop_capturing() -> None:
    """After the capture, nanfix's own training may use GradientTape freely."""
    global _capturing
    _capturing = False


def run_script(script_path: str, argv: list[str]) -> Capture:
    """Run the script until its first fit; return the Capture or raise ScriptFailed."""
    global _capturing
    script_path = os.path.abspath(script_path)
    install_hooks(script_path)
    _capturing = True
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [script_path, *argv]
    sys.path.insert(0, os.path.dirname(script_path))
    script_globals: dict[str, Any] = {}
    try:
        script_globals = runpy.run_path(script_path, run_name="__main__")
    except FitIntercepted as intercepted:
        return intercepted.capture
    except CustomLoop as loop:
        raise ScriptFailed(
            "custom_loop",
            "The script trains with its own tf.GradientTape loop instead of Model.fit; "
            "nanfix does not support custom training loops yet.",
            loop.where,
            "Wrap the model in keras.Model and train it with model.fit, or give nanfix an "
            "explicit entry: a script defining build_model() (and load_data()) or --data data.yaml.",
            "",
        ) from None
    except SystemExit as exit_:
        code = exit_.code
        if code not in (None, 0):
            raise ScriptFailed(
                "script_error",
                f"The script called sys.exit({code!r}) before reaching model.fit.",
                _where_from_traceback(script_path, exit_),
                None,
                traceback.format_exc(),
            ) from None
    except SyntaxError as error:
        where = f"{os.path.basename(error.filename or script_path)}:{error.lineno}"
        raise ScriptFailed(
            "syntax_error",
            f"The script does not parse: {error.msg} ({where}).",
            where,
            None,
            traceback.format_exc(),
        ) from None
    except Exception as error:  # noqa: BLE001 - the user's code can raise anything
        name = type(error).__name__
        message = str(error).strip().splitlines()[0] if str(error).strip() else name
        raise ScriptFailed(
            "script_error",
            f"The script raised {name} before reaching model.fit: {message}",
            _where_from_traceback(script_path, error),
            compat.hint_for(name, str(error)),
            "".join(traceback.format_exception(error)),
        ) from None
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    raise ScriptFailed(
        "no_fit",
        "The script finished without calling model.fit, so there was no training to probe.",
        None,
        "nanfix takes over at the first model.fit. If your script trains elsewhere (behind a "
        "flag, in a function it never calls), pass the arguments that reach fit after `--`, "
        "or use the explicit entry: define build_model() (and load_data()) in the script, or "
        "pass --data data.yaml.",
        "",
        script_globals,
    )


def _where_from_traceback(script_path: str, error: BaseException) -> str | None:
    """The deepest frame of the traceback that is in the user's script."""
    where = None
    target = os.path.realpath(script_path)
    for frame in traceback.extract_tb(error.__traceback__):
        if os.path.realpath(frame.filename) == target:
            where = f"{os.path.basename(script_path)}:{frame.lineno}"
    return where
