"""The child process that runs the user's code: capture, pre-flight, probes, sweeps.

The parent (runner.py) starts `python -m nanfix.worker JOB.json EVENT_FD`. Everything that
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


class Events:
    def __init__(self, fd: int | None):
        self.stream = os.fdopen(fd, "w", buffering=1) if fd is not None else None

    def __call__(self, event: dict[str, Any]) -> None:
        if self.stream is None:
            return
        self.stream.write(json.dumps(event, default=str) + "\n")
        self.stream.flush()


def main(argv: list[str]) -> int:
    job = json.loads(open(argv[0]).read())
    emit = Events(int(argv[1]) if len(argv) > 1 else None)
    try:
        report = diagnose(job, emit)
        emit({"event": "result", "report": report})
        return 0
    except BaseException as error:  # noqa: BLE001 - whatever happens, the parent gets a report
        emit({"event": "failure", "type": type(error).__name__, "message": str(error),
              "traceback": traceback.format_exc()})
        return 70


def diagnose(job: dict[str, Any], emit) -> dict[str, Any]:
    """Run the whole doctor for one job and return the report as a plain dict."""
    started = time.perf_counter()
    from nanfix.config import Settings
    from nanfix.results import ErrorInfo, Report, Verdict

    settings = Settings.from_dict(job["settings"])
    emit({"event": "phase", "phase": "starting TensorFlow"})
    import keras  # noqa: F401 - import cost shows up in the phase it belongs to
    import tensorflow as tf  # noqa: F401

    from nanfix import session

    emit({"event": "phase", "phase": "running the script up to fit"})
    try:
        loaded = session.load(job["script"], job.get("argv", []), job.get("data_config"), settings)
        loaded.seconds_before_examine = time.perf_counter() - started
        report = session.examine(loaded, settings, emit, mode=job.get("mode", "probe"),
                                 sweep_axis=job.get("sweep_axis"), sweep_grid=job.get("sweep_grid"))
    except session.LoadError as failure:
        report = Report(script=job["script"], argv=job.get("argv", []), verdict=Verdict.ERROR,
                        error=ErrorInfo(type=failure.kind, message=failure.message,
                                        where=failure.where, hint=failure.hint,
                                        detail=failure.detail),
                        settings=settings.to_dict())
    report.elapsed_s = time.perf_counter() - started
    return report.to_dict()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
