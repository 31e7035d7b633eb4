"""The child process that runs the user's code: capture, pre-flight, probes, sweeps.

The parent (`nanfix.executor.local`) starts `python -m nanfix.executor.worker JOB.json EVENT_FD`. Everything that
touches the user's script or TensorFlow happens here, so a segfault, a hang or a memory
blow-up kills this process and not nanfix. We talk to the parent through a private pipe
(the user's script owns stdout/stderr): one JSON object per line, `progress` events while we
work and one `result` event with the finished report at the end.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The probes train with TensorFlow: a backend chosen in ~/.keras/keras.json must not switch it
# (the command line refuses a KERAS_BACKEND that names another one).
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


class Events:
    def __init__(self, fd: int | None):
        self.stream = os.fdopen(fd, "w", buffering=1) if fd is not None else None
        self.pid = os.getpid()

    def __call__(self, event: dict[str, Any]) -> None:
        if self.stream is None or os.getpid() != self.pid:  # a fork of the script never reports
            return
        self.stream.write(json.dumps(event, default=str) + "\n")
        self.stream.flush()


def main(argv: list[str]) -> int:
    job = json.loads(open(argv[0]).read())
    emit = Events(int(argv[1]) if len(argv) > 1 else None)
    try:
        report = run_with_tensorflow(job, emit)
        emit({"event": "result", "report": report})
        return 0
    except BaseException as error:  # noqa: BLE001 - whatever happens, the parent gets a report
        emit({"event": "failure", "type": type(error).__name__, "message": str(error),
              "traceback": traceback.format_exc()})
        return 70


def exit_now(code: int) -> None:
    """End the worker at once: a thread the script started (not a daemon) must not keep it
    alive after its report; the parent ends what the script started."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def run_with_tensorflow(job: dict[str, Any], emit) -> dict[str, Any]:
    """Start TensorFlow (its import cost shows in its own phase), then the session."""
    started = time.perf_counter()
    emit({"event": "phase", "phase": "starting TensorFlow"})
    import keras  # noqa: F401
    import tensorflow as tf  # noqa: F401

    from nanfix import session

    runners = None
    if job["settings"].get("executor") == "ray":
        from nanfix.executor import ray_pool

        runners = ray_pool.factory(job)
    return session.run_job(job, emit, started, runners=runners)


if __name__ == "__main__":
    exit_now(main(sys.argv[1:]))
