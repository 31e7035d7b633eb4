"""The fix sweep on a Ray cluster: candidates and seeds as Ray tasks (`--executor ray`).

A sweep is many independent trainings: each candidate fix on each seed. On one machine they
run one after the other; with Ray they run on as many workers as the cluster offers. Each
worker (`ProbeWorker`, a Ray actor) runs the user's script to its fit once, builds the same
training setup the session did (`session.training_setup`), and plans the same fixes from the
findings it is sent, so a candidate travels as its id alone (a combination as its parts'
ids): nothing of TensorFlow crosses the wire, only the measured seed runs come back.

The halving still decides everything, in plan order (`nanfix.sweep.runner`): the runner
only trains the batch it is handed, a seed per task, on the worker that already built that
candidate where it is free (its trainer is traced once). So the report is the one the local
executor gives for the same seeds; only its cost changes.

Without `address` Ray starts on this machine (`ray.init()`, one worker per CPU); with one,
the workers run on that cluster, whose nodes must have nanfix, TensorFlow and the script at
the same path (README: "More machines"). Ray is an optional extra: `pip install nanfix[ray]`.
"""

from __future__ import annotations

import os
from typing import Any

from nanfix import fixes
from nanfix.capture.load import LoadError, load
from nanfix.config import Settings
from nanfix.probes.run import Deadline
from nanfix.records import ErrorKind, Finding
from nanfix.session import draws_of, training_setup
from nanfix.sweep.candidate import KEEP_TRAINERS_BYTES, Candidate, crash_missing, nbytes, run_seeds
from nanfix.sweep.combine import combine
from nanfix.sweep.runner import Probe, Runner

MAX_RAY_WORKERS = 8  # without --workers: one per CPU of the cluster, at most this many
# What a Ray worker's process needs before it imports TensorFlow (as `executor.worker` sets).
WORKER_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow", "PYTHONUNBUFFERED": "1"}


class RayUnavailable(LoadError):
    """Ray is not installed, or the cluster cannot be reached: a usage error (exit 2) whose
    report says which."""

    def __init__(self, message: str):
        super().__init__(ErrorKind.USAGE, message,
                         hint="Run without --executor ray (the same report, on this machine), "
                              "or check the cluster with `ray status --address ADDRESS`.")


class ProbeWorker:
    """A Ray actor: the user's training loaded once, probing candidates by id."""

    KEEP_CANDIDATES = 4  # candidates whose compiled trainer a worker keeps for their next seeds

    def __init__(self, job: dict[str, Any], settings: dict[str, Any], findings: list[Finding]):
        # the worker's environment (WORKER_ENV) is Ray's runtime_env: set before this module,
        # and TensorFlow with it, was imported
        self.settings = Settings.from_dict(settings)
        loaded = load(job["script"], job.get("argv", []), job.get("data_config"), self.settings)
        self.setup = training_setup(loaded, job.get("resume_from"))
        if not job.get("resume_from"):  # each seed's own draw, as the local sweep has them
            self.setup = self.setup.with_changes(draws=draws_of(loaded, self.settings.for_fit(loaded.fit_steps)))
        self.fixes = {fix.id: fix for fix in fixes.candidates(self.setup, findings, self.settings.families,
                                                              self.settings.grids)}
        self.kept: dict[str, Any] = {}  # fix id -> Candidate, oldest first
        self.keep = nbytes(self.setup) * self.KEEP_CANDIDATES <= KEEP_TRAINERS_BYTES

    def probe(self, fix_id: str, parts: tuple[str, ...], seed: int, seconds_left: float) -> dict[str, Any]:
        """Train candidate `fix_id` on `seed`; its runs, costs and error, never an exception."""
        candidate = self.kept.pop(fix_id, None)
        if candidate is None:
            fix = self.fixes.get(fix_id)
            if fix is None and parts and all(part in self.fixes for part in parts):
                fix = combine(*(self.fixes[part] for part in parts))
            if fix is None:
                return {"runs": [], "build_s": 0.0, "probe_s": 0.0,
                        "error": f"the Ray worker's plan has no fix {fix_id} (its script gave "
                                 f"another training than the one probed here)"}
            candidate = Candidate(fix=fix, base=self.setup)
        before, build, probe = len(candidate.runs), candidate.build_s, candidate.probe_s
        run_seeds(candidate, [seed], self.settings, Deadline(seconds_left), keep=self.keep)
        if candidate.trainer is not None:
            self.kept[fix_id] = candidate
            while len(self.kept) > self.KEEP_CANDIDATES:
                self.kept.pop(next(iter(self.kept)))
        return {"runs": candidate.runs[before:], "build_s": candidate.build_s - build,
                "probe_s": candidate.probe_s - probe, "error": candidate.error}


class RayRunner(Runner):
    """Trains a batch of candidates as one Ray task per (candidate, seed)."""

    name = "ray"

    def __init__(self, job: dict[str, Any], settings: Settings, findings: list[Finding]):
        try:
            import ray
        except ImportError:
            raise RayUnavailable("--executor ray needs Ray, an optional extra: "
                                 "pip install 'nanfix[ray]' (or pip install ray).") from None
        self.ray = ray
        self.started_here = not ray.is_initialized()
        if self.started_here:
            try:
                ray.init(address=settings.address, include_dashboard=False, log_to_driver=False,
                         configure_logging=False, runtime_env={"env_vars": dict(WORKER_ENV)},
                         **({} if settings.address else {"num_cpus": os.cpu_count() or 1}))
            except Exception as error:  # noqa: BLE001 - Ray's own errors vary by version
                raise RayUnavailable(f"Ray could not start or connect"
                                     f"{f' to {settings.address}' if settings.address else ''}: "
                                     f"{type(error).__name__}: {error}") from None
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        count = settings.workers or max(1, min(MAX_RAY_WORKERS, int(cpus)))
        actor = ray.remote(num_cpus=min(1.0, cpus / count))(ProbeWorker)
        payload = {key: job.get(key) for key in ("script", "argv", "data_config", "resume_from")}
        self.workers = [actor.remote(payload, settings.to_dict(), findings) for _ in range(count)]
        self.width = count
        self.alive = set(range(count))  # a worker that died (the script's memory, a crash) is not asked again
        self.home: dict[str, int] = {}  # fix id -> the worker that built it last

    def run(self, requests: list[Probe], settings: Settings, deadline: Deadline) -> None:
        tasks = [(request, seed) for request in requests for seed in request.seeds]
        results: dict[tuple[int, int], dict[str, Any]] = {}
        idle = sorted(self.alive)
        pending: dict[Any, tuple[int, Probe, int]] = {}
        while tasks or pending:
            while tasks and idle and not deadline.passed():
                request, seed = self._next(tasks, idle)
                worker = self._take(request, idle)
                fix = request.candidate.fix
                ref = self.workers[worker].probe.remote(fix.id, fix.part_ids, seed, deadline.left())
                pending[ref] = (worker, request, seed)
            if not pending:
                if not deadline.passed():  # every worker died: the rest cannot train
                    for request, seed in tasks:
                        results[(id(request), seed)] = {
                            "runs": [], "build_s": 0.0, "probe_s": 0.0,
                            "error": "no Ray worker is left (each died: the script's memory, or a crash)"}
                break  # else the deadline came before the rest started
            done, _ = self.ray.wait(list(pending), num_returns=1)
            worker, request, seed = pending.pop(done[0])
            try:
                results[(id(request), seed)] = self.ray.get(done[0])
                idle.append(worker)
            except Exception as error:  # noqa: BLE001 - the worker died (the script's memory, a crash)
                self.alive.discard(worker)
                results[(id(request), seed)] = {"runs": [], "build_s": 0.0, "probe_s": 0.0,
                                                "error": f"the Ray worker died ({type(error).__name__})"}
        for request in requests:
            self._collect(request, results)

    def _next(self, tasks: list[tuple[Probe, int]], idle: list[int]) -> tuple[Probe, int]:
        """The next task, preferring one whose candidate an idle worker has built."""
        for position, (request, _) in enumerate(tasks):
            if self.home.get(request.candidate.fix.id) in idle:
                return tasks.pop(position)
        return tasks.pop(0)

    def _take(self, request: Probe, idle: list[int]) -> int:
        home = self.home.get(request.candidate.fix.id)
        worker = home if home in idle else idle[0]
        idle.remove(worker)
        self.home[request.candidate.fix.id] = worker
        return worker

    def _collect(self, request: Probe, results: dict[tuple[int, int], dict[str, Any]]) -> None:
        """The request's seed runs, in its seed order, onto its candidate (as run_seeds would)."""
        candidate = request.candidate
        for seed in request.seeds:
            result = results.get((id(request), seed))
            if result is None:
                continue  # not started before the deadline
            candidate.build_s += result["build_s"]
            candidate.probe_s += result["probe_s"]
            candidate.runs += result["runs"]
            if result["error"]:
                crash_missing(candidate, [seed], result["error"])
        if candidate.setup is None:
            try:  # the fixed setup, for its task (a data fix may change the chance accuracy)
                candidate.setup = candidate.fix.apply(candidate.base)
            except Exception:  # noqa: BLE001 - the worker's runs already say it cannot train
                pass

    def close(self) -> None:
        for worker in self.workers:
            try:
                self.ray.kill(worker)
            except Exception:  # noqa: BLE001 - already gone
                pass
        if self.started_here:
            self.ray.shutdown()


def factory(job: dict[str, Any]):
    """The sweep's runner factory for `job`: Ray workers that train with the sweep's settings
    (the probe horizon already fitted to the script's own fit) and plan from its findings."""
    def make(settings: Settings, findings: list[Finding]) -> RayRunner:
        return RayRunner(job, settings, findings)
    return make
