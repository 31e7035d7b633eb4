"""Run the user's unmodified script and take over at its first `Model.fit`.

The script runs as `python train.py ARGS` would: as `__main__`, with its own `sys.argv`, its
directory first on `sys.path`, relative paths resolved from the current directory, and its
unseeded random generators seeded (`SCRIPT_SEED`), so its data is the same on every run. The hooks
(`nanfix.capture.hooks`) stop it at the first fit with a `Capture`; everything else that can
happen to arbitrary code (it raises, exits, does not parse, never calls fit, trains with its
own GradientTape loop) becomes a `ScriptFailed` with a plain message and the user's line.
"""

from __future__ import annotations

import os
import runpy
import sys
import traceback
from typing import Any

from nanfix.capture import compat, draws, hooks
from nanfix.capture.hooks import Capture, CustomLoop, FitIntercepted
from nanfix.records import ErrorKind

# The script's own unseeded randomness (random.shuffle of its data, NumPy draws, Keras'
# initializers) is seeded with this, so the same script gives the same capture, and so the
# same report, on every run.
SCRIPT_SEED = 0
MESSAGE_CHARS = 300  # of the script's error message (Keras quotes whole arrays in some)


def seed_everything(seed: int) -> None:
    """Python's, NumPy's, TensorFlow's and Keras' generators (a script that seeds its own
    generators overrides this, as it would in a plain run)."""
    import keras

    keras.utils.set_random_seed(seed)


class ScriptFailed(Exception):
    """The user's script raised (or exited) before reaching fit."""

    def __init__(self, kind: ErrorKind, message: str, where: str | None, hint: str | None,
                 detail: str, script_globals: dict[str, Any] | None = None):
        super().__init__(message)
        self.script_globals = script_globals or {}
        self.kind = kind
        self.message = message
        self.where = where
        self.hint = hint
        self.detail = detail


def run_script(script_path: str, argv: list[str], text: str | None = None,
               seed: int = SCRIPT_SEED) -> Capture:
    """Run the script until its first fit under script seed `seed`; return the Capture (with
    whether the script drew at random, `Capture.random_draws`) or raise ScriptFailed. With
    `text`, that source is run in the script's place (its patched copy: same path, folder and
    arguments, so its data loads as the script's does)."""
    script_path = os.path.abspath(script_path)
    hooks.install_hooks(script_path)
    seed_everything(seed)
    with draws.watching(script_path, seed) as drawn:
        capture = _run(script_path, argv, text)
    capture.random_draws = drawn.random
    return capture


def _run(script_path: str, argv: list[str], text: str | None) -> Capture:
    hooks.start_capturing()
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [script_path, *argv]
    sys.path.insert(0, os.path.dirname(script_path))
    script_globals: dict[str, Any] = {}
    try:
        if text is None:
            script_globals = runpy.run_path(script_path, run_name="__main__")
        else:
            script_globals = {"__name__": "__main__", "__file__": script_path, "__builtins__": __builtins__}
            exec(compile(text, script_path, "exec"), script_globals)  # noqa: S102 - the user's own script
    except FitIntercepted as intercepted:
        return intercepted.capture
    except CustomLoop as loop:
        raise ScriptFailed(
            ErrorKind.CUSTOM_LOOP,
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
                ErrorKind.SCRIPT_ERROR,
                f"The script called sys.exit({code!r}) before reaching model.fit.",
                _where_from_traceback(script_path, exit_),
                None,
                traceback.format_exc(),
            ) from None
    except SyntaxError as error:
        where = f"{os.path.basename(error.filename or script_path)}:{error.lineno}"
        raise ScriptFailed(
            ErrorKind.SYNTAX_ERROR,
            f"The script does not parse: {error.msg} ({where}).",
            where,
            None,
            traceback.format_exc(),
        ) from None
    except (Exception, KeyboardInterrupt) as error:  # noqa: BLE001 - the user's code can raise anything
        name = type(error).__name__
        message = str(error).strip().splitlines()[0] if str(error).strip() else name
        message = message if len(message) <= MESSAGE_CHARS else message[:MESSAGE_CHARS] + " ..."
        at_fit = any(frame.name == "fit_hook" for frame in traceback.extract_tb(error.__traceback__))
        raise ScriptFailed(
            ErrorKind.SCRIPT_ERROR,
            f"The script raised {name} {'at' if at_fit else 'before reaching'} model.fit: {message}",
            _where_from_traceback(script_path, error),
            compat.hint_for(name, str(error)),
            "".join(traceback.format_exception(error)),
        ) from None
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    raise ScriptFailed(
        ErrorKind.NO_FIT,
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
