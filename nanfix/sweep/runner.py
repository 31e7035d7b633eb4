"""Where a sweep's candidates train: here, one after the other, or on several workers at once.

The halving asks a runner to probe a batch of (candidate, seeds) at a time and reads the
results in plan order, so the budget's decisions (who gets a first seed, who goes on) are
the same whatever ran them and however fast: a runner changes the cost of a sweep, never its
report. `Runner` trains here, in the worker's own process, one candidate at a time (`width`
1: the batches are single candidates, as a plain loop would run them). The Ray runner
(`nanfix.executor.ray_pool`) trains a batch as Ray tasks on a cluster's workers and reports
`width`, its number of workers, so the halving hands it that many candidates at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from nanfix.config import Settings
from nanfix.probes.run import Deadline
from nanfix.sweep.candidate import Candidate, run_seeds


@dataclass
class Probe:
    """One request: train `candidate` on `seeds` (keeping its trainer for later seeds when
    `keep`, where the runner can)."""

    candidate: Candidate
    seeds: list[int]
    keep: bool = False


class Runner:
    """Probes each request in turn, in this process."""

    width = 1  # how many candidates a batch should hold to keep every worker busy
    name = "local"

    def run(self, requests: list[Probe], settings: Settings, deadline: Deadline) -> None:
        """Probe every request, adding the runs to its candidate; never raises for a
        candidate that cannot train (that is a measured failure)."""
        for request in requests:
            if deadline.passed():
                return  # the rest stay unprobed; the halving says so
            run_seeds(request.candidate, request.seeds, settings, deadline, keep=request.keep)

    def close(self) -> None:
        """Release what the runner holds (workers, a cluster connection)."""
