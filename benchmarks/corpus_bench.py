"""Score nanfix on the corpus of broken scripts, side by side with a random search.

Each case in benchmarks/corpus/NN_name/ has a `train.py` and an `expected.yaml`:

    verdict: diverges | stalls | healthy   # or a list, where the script shows both (an
                               # explosion that settles at chance)
    causes: [D104, ...]        # any one of these among the findings: the cause was named
    cures: [input_scaling, input_scaling+target_scaling, ...]   # acceptable top fixes
                               # ("a+b": a combination holding both); [] = nothing cures it

For every case, `nanfix probe` runs as a user would (default settings, JSON report), then the
random search (`random_search.py`) gets the same budget in probed steps as nanfix's sweep
spent. The scores:

- verdict right; cause named (where one is expected: a script whose curve is healthy may
  still hide a static bug, such as a pairing Keras 3 forgives); top fix a measured cure of an
  acceptable family (where a cure exists); a false cure (a claimed cure where none exists); a
  false alarm (a correct script given a failing verdict or an error-severity finding);
- nanfix's cure rate against the random search's, at equal budget.

Figures go to bench-out/corpus.json and a table on stdout.

    python benchmarks/corpus_bench.py [--cases PATTERN] [--no-random] [--reuse]
"""

from __future__ import annotations

import argparse
import fnmatch
import glob
import json
import os
import subprocess
import sys
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "benchmarks", "corpus")
OUT = os.path.join(ROOT, "bench-out", "corpus")


def cases(pattern: str | None) -> list[str]:
    found = sorted(os.path.dirname(path) for path in glob.glob(os.path.join(CORPUS, "*", "expected.yaml")))
    return [case for case in found if pattern is None or fnmatch.fnmatch(os.path.basename(case), pattern)]


def acceptable(fix: dict | None, cures: list[str]) -> bool:
    """The fix is a measured cure whose families hold one of the acceptable entries."""
    if not fix or fix.get("outcome") != "cures":
        return False
    families = set(fix.get("families") or [])
    return any(set(entry.split("+")) <= families for entry in cures)


def keeps_task(fix: dict | None) -> bool:
    """The fix trains on the baseline's classes, and drops at most 1% of its rows (stray ones)."""
    change = (fix or {}).get("data_change")
    if not change:
        return True
    before, after = change["rows"]
    classes = change.get("classes")
    return (not classes or classes[1] >= classes[0]) or (before - after) <= 0.01 * before


def score(report: dict, expected: dict) -> dict:
    verdict = report.get("verdict")
    findings = report.get("findings") or []
    codes = {item.get("code") for item in findings}
    fixes = report.get("fixes") or []
    top = fixes[0] if fixes else None
    cures = list(expected.get("cures") or [])
    verdicts = expected["verdict"] if isinstance(expected["verdict"], list) else [expected["verdict"]]
    healthy = verdicts == ["healthy"]
    claimed = any(fix.get("outcome") == "cures" for fix in fixes)
    causes = set(expected.get("causes") or [])
    sound = healthy and not causes  # a correct script (a healthy curve with a static bug is not)
    return {
        "verdict": verdict,
        "verdict_right": verdict in verdicts,
        "cause_named": bool(codes & causes) if causes else None,
        "top_fix": top.get("id") if top else None,
        "top_outcome": top.get("outcome") if top else None,
        "top_cures": None if healthy or not cures else acceptable(top, cures),
        "false_cure": (not healthy and not cures and claimed),
        # a cure that changes the task (drops classes, or much of the data) is a wrong answer
        "top_changes_task": bool(top and top.get("outcome") == "cures" and not keeps_task(top)),
        "false_alarm": sound and (verdict != "healthy" or any(item.get("severity") == "error" for item in findings)),
        "budget_spent": (report.get("budget") or {}).get("spent"),
    }


def run_nanfix(case: str, reuse: bool = False) -> tuple[dict, float]:
    output = os.path.join(OUT, os.path.basename(case) + ".nanfix.json")
    if reuse and os.path.exists(output):
        with open(output) as handle:
            report = json.load(handle)
        return report, float(report.get("elapsed_s") or 0.0)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nanfix.cli", "probe", os.path.join(case, "train.py"), "--format",
                    "json", "-o", output, "--no-progress", "--exit-zero"], cwd=case, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    with open(output) as handle:
        return json.load(handle), seconds


def run_random(case: str, steps: int, seed: int = 0, reuse: bool = False) -> tuple[dict | None, float]:
    output = os.path.join(OUT, os.path.basename(case) + ".random.json")
    if reuse and os.path.exists(output) and os.path.getmtime(output) >= os.path.getmtime(
            os.path.join(OUT, os.path.basename(case) + ".nanfix.json")):
        with open(output) as handle:
            report = json.load(handle)
        return report, float(report.get("elapsed_s") or 0.0)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "random_search.py"),
                           os.path.join(case, "train.py"), "--steps", str(steps), "--seed", str(seed),
                           "-o", output], cwd=case, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0 or not os.path.exists(output):
        return None, seconds
    with open(output) as handle:
        return json.load(handle), seconds


def share(rows: list[dict], key: str) -> tuple[int, int]:
    values = [row[key] for row in rows if row.get(key) is not None]
    return sum(bool(v) for v in values), len(values)


def percent(pair: tuple[int, int]) -> str:
    hits, total = pair
    return f"{hits}/{total} ({100 * hits / total:.0f}%)" if total else "-"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Score nanfix on benchmarks/corpus.")
    parser.add_argument("--cases", help="a glob over the case names, e.g. '1*'")
    parser.add_argument("--no-random", action="store_true", help="skip the random-search baseline")
    parser.add_argument("--reuse", action="store_true",
                        help="score the reports already in bench-out/corpus (nanfix's, and the random "
                             "search's where newer) instead of running them again")
    args = parser.parse_args(argv)
    os.makedirs(OUT, exist_ok=True)
    rows = []
    for case in cases(args.cases):
        name = os.path.basename(case)
        with open(os.path.join(case, "expected.yaml")) as handle:
            expected = yaml.safe_load(handle)
        report, seconds = run_nanfix(case, args.reuse)
        row = {"case": name, "class": expected.get("class"), "expected": expected["verdict"],
               "cures_expected": expected.get("cures") or [], **score(report, expected),
               "seconds": round(seconds, 1)}
        spent = row["budget_spent"]
        if not args.no_random and spent and expected["verdict"] != "healthy":  # a list is never healthy
            randomised, random_seconds = run_random(case, int(spent), reuse=args.reuse)
            if randomised is not None:
                other = score(randomised, expected)
                row.update({"random_top_fix": other["top_fix"], "random_top_cures": other["top_cures"],
                            "random_false_cure": other["false_cure"], "random_seconds": round(random_seconds, 1)})
        elif not args.no_random and expected["verdict"] != "healthy" and expected.get("cures"):
            row.update({"random_top_fix": None, "random_top_cures": False})  # no sweep: nothing found
        rows.append(row)
        print(f"{name:42s} {row['verdict'] or '-':9s} verdict {'ok' if row['verdict_right'] else 'WRONG':5s} "
              f"cause {row['cause_named']!s:5s} top {row['top_fix'] or '-'} ({row['top_outcome'] or '-'}) "
              f"cure {row['top_cures']!s:5s} random {row.get('random_top_fix') or '-'} "
              f"{row.get('random_top_cures')!s:5s} {row['seconds']:.0f} s", flush=True)
    summary = {
        "cases": len(rows),
        "verdict_right": share(rows, "verdict_right"),
        "cause_named": share(rows, "cause_named"),
        "top_fix_cures": share(rows, "top_cures"),
        "false_cures": sum(row["false_cure"] for row in rows),
        "top_fix_changes_task": sum(bool(row.get("top_changes_task")) for row in rows),
        "false_alarms": sum(row["false_alarm"] for row in rows),
        "random_top_fix_cures": share(rows, "random_top_cures"),
        "random_false_cures": sum(bool(row.get("random_false_cure")) for row in rows),
        "nanfix_seconds": round(sum(row["seconds"] for row in rows), 1),
    }
    with open(os.path.join(ROOT, "bench-out", "corpus.json"), "w") as handle:
        json.dump({"summary": summary, "rows": rows}, handle, indent=2)
    print()
    print(f"| corpus ({summary['cases']} scripts) | nanfix | random search, same budget |")
    print("|---|---|---|")
    print(f"| verdict right | {percent(summary['verdict_right'])} | (same pipeline) |")
    print(f"| cause among the findings | {percent(summary['cause_named'])} | (same pipeline) |")
    print(f"| top fix a measured, acceptable cure | {percent(summary['top_fix_cures'])} | "
          f"{percent(summary['random_top_fix_cures'])} |")
    print(f"| claimed cures where none exists | {summary['false_cures']} | {summary['random_false_cures']} |")
    print(f"| top cure that changes the task (drops classes or data) | {summary['top_fix_changes_task']} | - |")
    print(f"| false alarms on healthy scripts | {summary['false_alarms']} | - |")
    print(f"| nanfix wall time, all cases | {summary['nanfix_seconds']:.0f} s | |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
