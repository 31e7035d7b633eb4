"""The baseline nanfix must beat: a random search over the same fix families, same budget.

An independent re-test of AUTOTRAINER found that a random hyper-parameter search repaired as
many models as the tool. This runs nanfix's whole pipeline on a script (capture, findings,
baseline probe, verdict), but replaces the fix search by a random one: fixes (and, a third of
the time, pairs of fixes from different families) drawn uniformly from everything the catalog
proposes for this setup, each probed on the seeds in turn (stopping at the first failed seed)
until the same number of probed steps as nanfix's sweep spent is used up. The measured
results are judged and ranked as nanfix's own (without the diagnosed cause: random search
has none).

    python benchmarks/random_search.py SCRIPT --steps 6000 --seed 0 -o out.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

PAIR_SHARE = 1 / 3  # the share of draws that are a pair of fixes
MAX_DRAWS = 500


def random_search(steps: int, seed: int):
    """A stand-in for `nanfix.sweep.search.find_fixes` with the same signature."""
    from nanfix import fixes as catalog
    from nanfix.fixes.data_repair import data_problem
    from nanfix.sweep import combine, rank
    from nanfix.sweep.candidate import Candidate, restoring_compile, run_seeds, seed_order
    from nanfix.sweep.search import to_result, with_symptoms

    def find_fixes(setup, baseline, findings, settings, deadline, emit, capture=None, sweep_report=None,
                   runners=None):
        rng = random.Random(seed)
        with restoring_compile(setup):
            findings = with_symptoms(setup, baseline, findings, settings, capture)
            problem = data_problem(setup, findings)
            pool = catalog.candidates(setup, findings, settings.families, settings.grids)
            seeds = seed_order(baseline, settings)
            spent, seen, measured = 0, set(), []
            for _ in range(MAX_DRAWS):
                if spent >= steps or deadline.passed() or not pool:
                    break
                if rng.random() < PAIR_SHARE and len({fix.family for fix in pool}) > 1:
                    first, second = rng.sample(pool, 2)
                    if not combine.compatible([first, second]):
                        continue
                    fix = combine.combine(first, second)
                else:
                    fix = rng.choice(pool)
                if fix.id in seen:
                    continue
                seen.add(fix.id)
                candidate = Candidate(fix=fix, base=setup)
                for probe_seed in seeds:
                    run_seeds(candidate, [probe_seed], settings, deadline, keep=True)
                    spent += candidate.runs[-1].steps_run if candidate.runs else 0
                    if not candidate.runs or not candidate.runs[-1].ok or spent >= steps:
                        break
                candidate.trainer = None
                measured.append(candidate)
            results = [to_result(c, baseline, setup, problem, len(seeds), settings, capture) for c in measured]
            if sweep_report is not None:
                sweep_report.update({"total": steps, "spent": spent, "tried": len(measured)})
            magnitudes = {c.fix.id: c.fix.magnitude for c in measured}
            return rank.rank(results, setup.task, magnitudes, None, thresholds=settings.thresholds)

    return find_fixes


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("script")
    parser.add_argument("--steps", type=int, required=True, help="the budget in probed steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args(argv)

    import keras  # noqa: F401

    from nanfix import session
    from nanfix.config import Settings

    session.find_fixes = random_search(args.steps, args.seed)
    started = time.perf_counter()
    job = {"script": os.path.abspath(args.script), "argv": [], "settings": Settings().to_dict(),
           "mode": "probe"}
    report = session.run_job(job, lambda event: None, started)
    with open(args.output, "w") as handle:
        json.dump(report, handle, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
