"""`nanfix record train.py`: the user's whole training, unmodified, with the flight recorder on.

A user who cannot (or would rather not) add `NanGuard(record=DIR)` to a script runs it through
this launcher instead: every `fit` the script calls gets a recording NanGuard appended to its
callbacks, and the script runs as `python train.py ARGS` would (as `__main__`, with its own
`sys.argv`, stdout and stderr). Nothing else changes. When training fails the record is
written and the guard stops training, as NanGuard does.

    python -m nanfix.guard.launch RECORD_DIR RECORD_EVERY SCRIPT [ARGS...]
"""

from __future__ import annotations

import functools
import os
import runpy
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def install(directory: str, every: int, script: str) -> None:
    """Append a recording NanGuard to every `fit` the script calls."""
    import keras

    from nanfix.guard.callback import NanGuard

    original = keras.Model.fit

    @functools.wraps(original)
    def fit(self, *args, **kwargs):
        callbacks = list(kwargs.get("callbacks") or [])
        if not any(isinstance(callback, NanGuard) and callback.recorder for callback in callbacks):
            callbacks.append(NanGuard(record=directory, record_every=every, script=script))
        kwargs["callbacks"] = callbacks
        return original(self, *args, **kwargs)

    keras.Model.fit = fit


def main(argv: list[str]) -> int:
    directory, every, script, *args = argv
    install(directory, int(every), script)
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
