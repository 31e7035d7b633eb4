"""The hooks on Keras that turn running the user's script into a `Capture`.

Before the script starts (`nanfix.capture.script.run_script`) we install small hooks:

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
from dataclasses import dataclass, field
from typing import Any

from nanfix.capture import compat
from nanfix.capture.origins import remember, user_line


class FitIntercepted(BaseException):
    """Raised from the hooked fit to unwind the user's script with what it passed."""

    def __init__(self, capture: Capture):
        super().__init__("fit intercepted by nanfix")
        self.capture = capture


class CustomLoop(BaseException):
    def __init__(self, where: str | None):
        super().__init__("custom GradientTape training loop")
        self.where = where


@dataclass
class Capture:
    """What the script was about to train: model, compile settings and fit arguments."""

    script: str
    model: Any
    compile_args: dict[str, Any]
    fit_args: dict[str, Any]
    origins: dict[str, str | None] = field(default_factory=dict)
    legacy: list[tuple[str, str | None]] = field(default_factory=list)
    random_draws: bool = False  # the script drew from an unseeded generator before fit


_hooks_installed = False
_capturing = False  # True only while run_script runs the user's script
_script_path: str = ""  # the script being run: the lines the hooks record are its lines
_forked = False  # this process is a fork the script made (it never trains, never reports)


def _in_a_fork() -> None:
    global _forked
    _forked = True


os.register_at_fork(after_in_child=_in_a_fork)


def current_script() -> str:
    """The script the hooks record lines of (the one `install_hooks` was last called for)."""
    return _script_path


def start_capturing() -> None:
    global _capturing
    _capturing = True


def install_hooks(script_path: str) -> None:
    """Patch Keras so that running the script yields a Capture instead of a training run.

    The patches go in once per process; each call makes `script_path` the script whose lines
    they record (a process that runs several scripts, as the tests do, gets each one's lines)."""
    global _hooks_installed, _script_path
    _script_path = os.path.abspath(script_path)
    if _hooks_installed:
        return
    _hooks_installed = True

    import keras
    import tensorflow as tf
    from keras.src.backend.common import variables as keras_variables

    compat.install(current_script)

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
            remember(self, "_nanfix_origin", user_line(current_script()))
        original_layer_init(self, *args, **kwargs)

    layer_class.__init__ = layer_init

    optimizer_class = keras.optimizers.Optimizer
    original_optimizer_init = optimizer_class.__init__

    def optimizer_init(self, *args, **kwargs):
        if getattr(self, "_nanfix_origin", None) is None:
            remember(self, "_nanfix_origin", user_line(current_script()))
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
        remember(self, "_nanfix_compile_origin", user_line(current_script()))
        return original_compile(self, *args, **kwargs)

    model_class.compile = compile_hook
    # Keras skips compiling a loaded model (`load_model`, `compile_from_config`) whose class
    # overrides Trainer.compile; with the hook on both, a loaded model compiles as it should
    from keras.src.trainers.trainer import Trainer

    Trainer.compile = compile_hook

    original_fit = model_class.fit
    fit_signature = inspect.signature(original_fit)

    def fit_hook(self, *args, **kwargs):
        if _forked:  # a copy of the script the script forked reached fit: the worker probes it
            os._exit(0)
        if not _capturing:  # nanfix's own code (or a test) after the capture: a normal fit
            return original_fit(self, *args, **kwargs)
        bound = fit_signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        arguments.pop("self", None)
        arguments.update(arguments.pop("kwargs", {}) or {})
        origins = {
            "fit": user_line(current_script()),
            "compile": getattr(self, "_nanfix_compile_origin", None),
            "optimizer": getattr(getattr(self, "optimizer", None), "_nanfix_origin", None),
        }
        check_fit_data(arguments)
        capture = Capture(
            script=current_script(),
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
            raise CustomLoop(user_line(current_script()))
        return original_gradient(self, *args, **kwargs)

    tf.GradientTape.gradient = gradient_hook


def check_fit_data(arguments: dict[str, Any]) -> None:
    """Raise what Keras' own fit raises for data it cannot take (a list of lists, strings),
    so the user reads Keras' words at their fit line, as a plain run would show them.

    In-memory data only: a generator or dataset is left alone (reading it would consume it).
    """
    x = arguments.get("x")
    if not isinstance(x, (list, tuple, dict)) and not hasattr(x, "__array__"):
        return
    from keras.src.trainers.data_adapters import get_data_adapter

    get_data_adapter(x=x, y=arguments.get("y"), sample_weight=arguments.get("sample_weight"),
                     batch_size=arguments.get("batch_size") or 32, shuffle=False,
                     class_weight=arguments.get("class_weight"))
    if hasattr(x, "dtype") and not _numeric(x.dtype):
        raise ValueError(f"fit was given inputs of dtype {x.dtype}: Keras trains on numbers; "
                         "convert them (e.g. x.astype('float32')) or encode them first")


def _numeric(dtype: Any) -> bool:
    import numpy as np

    try:
        return np.issubdtype(np.dtype(str(dtype)), np.number) or np.dtype(str(dtype)) == np.bool_
    except TypeError:
        return True  # a framework dtype numpy does not name (bfloat16, ...): numeric


def stop_capturing() -> None:
    """After the capture, nanfix's own training may use GradientTape freely."""
    global _capturing
    _capturing = False


