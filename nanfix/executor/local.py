"""The parent side of isolation: start the worker, watch it, and always come back with a report.

The user's script is arbitrary code. It runs in a child process (`nanfix.executor.worker`) whose output
goes to a log file; we read its progress events from a private pipe, and we stop it when it
runs past the time limit or past the memory limit. A segfault, a hang, an out-of-memory kill
or a crash in TensorFlow becomes a report with `verdict: "error"` that says what happened
and what the script printed last; nanfix itself exits cleanly.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from nanfix.records import ErrorInfo, ErrorKind, Report
from nanfix.report.serialize import report_to_dict

OnEvent = Callable[[dict[str, Any]], None]
# On top of the time limit, so the worker (whose own deadline is `REPORT_SECONDS` before the
# limit) can stop itself and still write its report; then it and all it started are ended.
GRACE_SECONDS = float(os.environ.get("NANFIX_GRACE_SECONDS", "5"))
# How long a worker that has sent its report may take to exit before it is ended.
EXIT_SECONDS = 2.0


def run_job(job: dict[str, Any], on_event: OnEvent | None = None, cwd: str | None = None) -> dict[str, Any]:
    """Run one job in a worker process and return the report dict (never raises for user faults)."""
    started = time.monotonic()
    settings = job["settings"]
    limit = float(settings["time_limit"]) + GRACE_SECONDS
    memory_limit = int(settings.get("memory_limit_mb") or 0) * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="nanfix-") as scratch:
        job_path = os.path.join(scratch, "job.json")
        with open(job_path, "w") as handle:
            json.dump(job, handle)
        log_path = os.path.join(scratch, "script-output.log")
        read_end, write_end = os.pipe()
        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        env["PYTHONUNBUFFERED"] = "1"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "nanfix.executor.worker", job_path, str(write_end)],
                stdin=_script_stdin(), stdout=log, stderr=subprocess.STDOUT,
                pass_fds=(write_end,), cwd=cwd, env=env, start_new_session=True,
            )
        os.close(write_end)
        try:
            outcome = _watch(process, read_end, limit, memory_limit, on_event)
        finally:
            _kill(process)  # what the script started (its children, a fork) ends with it
        output = _tail(log_path)
    elapsed = time.monotonic() - started
    report = outcome.get("report")
    if report is None:
        report = _error_report(job, outcome, output)
    report["elapsed_s"] = round(elapsed, 3)
    report["script_output"] = output
    return report


def _script_stdin() -> Any:
    """What the script reads as stdin: what was piped to nanfix (`data | nanfix probe ...`),
    as a plain run would read it; nothing when stdin is a terminal, where the script would
    wait for a user the live progress display hides."""
    try:
        return None if not sys.stdin.isatty() else subprocess.DEVNULL
    except (AttributeError, ValueError, OSError):  # no stdin, or a closed one
        return subprocess.DEVNULL


def _watch(process: subprocess.Popen, read_end: int, limit: float, memory_limit: int,
           on_event: OnEvent | None) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    buffer = b""
    outcome: dict[str, Any] = {"phase": "starting"}
    peak_rss = 0
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while True:
            ready, _, _ = select.select([pipe], [], [], 0.2)
            if ready:
                chunk = pipe.read(65536)
                if chunk:
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        _handle(line, outcome, on_event)
                    if "report" in outcome or "failure" in outcome:
                        break  # no need to wait for what the script left running
                    continue
                process.wait()
                break
            if process.poll() is not None:
                continue  # drain what is left in the pipe
            rss = _rss(process.pid)
            peak_rss = max(peak_rss, rss)
            if memory_limit and rss > memory_limit:
                _kill(process)
                outcome.update(killed="memory", rss=rss)
                break
            if time.monotonic() > deadline:
                _kill(process)
                outcome.update(killed="timeout")
                break
    try:
        outcome["returncode"] = process.wait(timeout=EXIT_SECONDS)
    except subprocess.TimeoutExpired:  # a thread or a child of the script kept it alive
        _kill(process)
        outcome["returncode"] = process.wait()
    outcome["peak_rss"] = peak_rss
    return outcome


def _handle(line: bytes, outcome: dict[str, Any], on_event: OnEvent | None) -> None:
    try:
        event = json.loads(line)
    except ValueError:
        return
    kind = event.get("event")
    if kind == "result":
        outcome["report"] = event["report"]
    elif kind == "failure":
        outcome["failure"] = event
    elif kind == "phase":
        outcome["phase"] = event["phase"]
    if on_event is not None and kind not in ("result",):
        on_event(event)


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def _tail(path: str, limit: int = 4000) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _error_report(job: dict[str, Any], outcome: dict[str, Any], output: str) -> dict[str, Any]:
    """The report of a worker that died or was stopped before it could write one."""
    phase = outcome.get("phase", "starting")
    killed = outcome.get("killed")
    code = outcome.get("returncode")
    limit_mb = job["settings"].get("memory_limit_mb")
    if killed == "timeout":
        error = ErrorInfo(ErrorKind.TIMEOUT,
                          f"The run did not finish within the time limit "
                          f"({job['settings']['time_limit']:g} s); it was stopped while {phase}.",
                          hint="If the script does heavy work before fit (downloads, "
                               "preprocessing), raise --time-limit; if it hangs, the phase above "
                               "says where.")
    elif killed == "memory":
        error = ErrorInfo(ErrorKind.MEMORY,
                          f"The run used more than {limit_mb} MiB of memory while {phase} and "
                          f"was stopped.",
                          hint="Lower --max-samples or the batch size, or raise --memory-limit.")
    elif outcome.get("failure"):
        failure = outcome["failure"]
        error = ErrorInfo(ErrorKind.INTERNAL,
                          f"nanfix failed while {phase}: {failure['type']}: {failure['message']}",
                          hint="This is a nanfix bug; please report it with --debug output.",
                          detail=failure.get("traceback"))
    elif code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        kind = ErrorKind.MEMORY if -code == signal.SIGKILL else ErrorKind.CRASHED
        error = ErrorInfo(kind,
                          f"The process running the script was killed by {name} while {phase}"
                          + (" (likely out of memory)." if kind is ErrorKind.MEMORY else "."),
                          hint="A crash inside native code (TensorFlow, a C extension) ends the "
                               "process without a Python traceback; the script's last output is "
                               "below.")
    else:
        error = ErrorInfo(ErrorKind.CRASHED,
                          f"The process running the script exited with code {code} while {phase}.",
                          hint="The script may call os._exit() or be killed from outside.")
    report = Report.failed(job["script"], job.get("argv", []), job["settings"], error, output)
    return report_to_dict(report)
