"""`make bench`: how fast the doctor answers, measured (never asserted in tests).

1. Monitoring overhead: the probe's instrumented step against a plain `model.fit` over the
   same steps, on an MNIST-sized MLP (target <= 1.5x).
2. Wall time of `nanfix probe` (TensorFlow start included) on each recipe, on issue 12's
   mid-size CNN (benchmarks/scripts/midsize_cnn.py) and on a healthy MLP: time to a full
   ranked report against one plain run of the script, the number of candidates tried, what one more
   candidate costs (one probe seed: its first round), and the naive alternative: re-running
   the user's script once per candidate fix (its own epochs), and the same with one run per
   seed, which is the evidence the report gives (every cure is checked on every seed).
   Also: what one more candidate costs against the baseline probe (target <= 0.3x).
3. The stacked-seeds step (`nanfix.probes.stack`): three seeds in one compiled step against
   three single steps, on small MLPs where dispatch dominates.
4. Idle against loaded: one recipe's report with two CPU-bound processes competing for the
   cores, which must be the idle machine's report (the budget is in steps, not seconds).
5. The in-training guard's overhead (benchmarks/bench_guard.py).

Figures are printed as a table and written to bench-out/bench.json.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def monitoring_overhead(steps: int = 300, repeats: int = 3) -> dict:
    import keras
    import numpy as np

    from nanfix.capture import hooks as capture
    from nanfix.capture import task
    from nanfix.capture.training_data import TrainingData
    from nanfix.probes.trainer import Trainer

    capture.install_hooks(__file__)
    rng = np.random.default_rng(0)
    x = rng.random((steps * 32, 784)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 10, steps * 32), 10)

    def build():
        model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(128, activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="categorical_crossentropy",
                      jit_compile=False)
        return model

    plain_model = build()
    plain_model.fit(x[:320], y[:320], batch_size=32, epochs=1, verbose=0)  # warm-up / trace
    plain = []
    for _ in range(repeats):
        start = time.perf_counter()
        plain_model.fit(x, y, batch_size=32, epochs=1, verbose=0, shuffle=True)
        plain.append(time.perf_counter() - start)

    model = build()
    data = TrainingData(x=x, y=y, sample_weight=None, batch_size=32)
    trainer = Trainer(model, keras.optimizers.SGD(0.01), "categorical_crossentropy",
                      task.infer(model, "categorical_crossentropy", y), data)
    batches = trainer.batches(0)
    for _ in range(10):
        trainer.step(next(batches))  # warm-up / trace
    probed = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            trainer.unpack(trainer.step(next(batches)))
        probed.append(time.perf_counter() - start)
    plain_s, probe_s = sorted(plain)[repeats // 2], sorted(probed)[repeats // 2]
    return {"steps": steps, "plain_fit_s": round(plain_s, 3), "probe_s": round(probe_s, 3),
            "ratio": round(probe_s / plain_s, 2), "target": 1.5}


def stacked_step(shapes=((784, 30, 10, 10), (784, 128, 10, 32), (20, 32, 4, 32)),
                 steps: int = 300, repeats: int = 3) -> list[dict]:
    """Three seeds' steps, one after the other and stacked in one compiled step."""
    import keras
    import numpy as np

    from nanfix.capture import hooks as capture
    from nanfix.capture import task
    from nanfix.capture.training_data import TrainingData
    from nanfix.probes.build import build_trainer
    from nanfix.probes.setup import from_capture
    from nanfix.probes.stack import build_stack

    capture.install_hooks(__file__)
    rows = []
    for inputs, hidden, classes, batch in shapes:
        rng = np.random.default_rng(0)
        x = rng.random((4000, inputs)).astype("float32")
        y = keras.utils.to_categorical(rng.integers(0, classes, 4000), classes)
        model = keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(hidden, activation="relu"),
                                  keras.layers.Dense(classes, activation="softmax")])
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="categorical_crossentropy")
        data = TrainingData(x=x, y=y, sample_weight=None, batch_size=batch)
        setup = from_capture(model, model.optimizer, "categorical_crossentropy", data,
                             task.infer(model, "categorical_crossentropy", y))
        stack = build_stack(setup, build_trainer(setup), 3, 1024)
        streams = [trainer.batches(seed) for seed, trainer in enumerate(stack.trainers)]
        for _ in range(10):  # trace both
            stack.step([next(s) for s in streams])
            for trainer, stream in zip(stack.trainers, streams, strict=True):
                trainer.step(next(stream))
        single, stacked = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(steps):
                for trainer, stream in zip(stack.trainers, streams, strict=True):
                    trainer.unpack(trainer.step(next(stream)))
            single.append((time.perf_counter() - start) / steps)
            start = time.perf_counter()
            for _ in range(steps):
                rows_out = stack.step([next(s) for s in streams])
                for trainer, row in zip(stack.trainers, rows_out, strict=True):
                    trainer.unpack(row)
            stacked.append((time.perf_counter() - start) / steps)
        one, three = sorted(stacked)[repeats // 2], sorted(single)[repeats // 2]
        rows.append({"model": f"MLP {inputs}-{hidden}-{classes}, batch {batch}",
                     "three_single_steps_ms": round(three * 1000, 2),
                     "stacked_step_ms": round(one * 1000, 2), "ratio": round(one / three, 2)})
    return rows


def idle_and_loaded(script: str) -> dict:
    """The same report on an idle machine and with two CPU-bound processes competing."""
    idle = probe_wall_time(script, [])
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        loaded = probe_wall_time(script, [], suffix="-loaded")
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()

    def answer(row):
        report = json.load(open(row["report"]))
        return (report["verdict"], [item["code"] for item in report["findings"]],
                [(fix["id"], fix["outcome"], fix["seeds_ok"]) for fix in report.get("fixes") or []])

    return {"script": idle["script"], "idle_s": idle["wall_s"], "loaded_s": loaded["wall_s"],
            "same_report": answer(idle) == answer(loaded), "top_fix": idle["top_fix"]}


def probe_wall_time(script: str, extra: list[str], suffix: str = "") -> dict:
    name = os.path.basename(os.path.dirname(script)) if os.path.basename(script) == "train.py" else \
        os.path.splitext(os.path.basename(script))[0]
    output = os.path.join(ROOT, "bench-out", name + suffix + ".json")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nanfix.cli", "probe", script, "--format", "json", "-o", output,
                    "--no-progress", *extra], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    report = json.load(open(output))
    fixes = report.get("fixes") or []
    top = fixes[0] if fixes else None
    # one more candidate costs one seed (its first round); a verified one, one per seed
    seeds = sorted(run["elapsed_s"] for fix in fixes for run in fix.get("runs", []))
    budget = report.get("budget") or {}
    baseline_runs = (report.get("baseline") or {}).get("runs", [])
    baseline_steps = sum(run["steps_run"] for run in baseline_runs)
    baseline_s = sum(run["elapsed_s"] for run in baseline_runs)
    one_more = seeds[len(seeds) // 2] if seeds else None
    return {"script": os.path.relpath(script, ROOT), "report": output, "wall_s": round(wall, 2),
            "verdict": report["verdict"],
            "steps_probed": baseline_steps + int(budget.get("spent") or 0),
            "sweep_budget_steps": budget.get("steps"),
            "candidates": len(fixes), "candidate_seed_s": round(one_more, 2) if seeds else None,
            "candidate_vs_baseline": round(one_more / baseline_s, 2) if seeds and baseline_s else None,
            "top_fix": top and f"{top['id']} ({top['outcome']}, {top['seeds_ok']}/{top['seeds']})",
            "first_bad": report.get("baseline") and report["baseline"].get("first_nonfinite")}


def report_seeds(row: dict) -> int:
    with open(row["report"]) as handle:
        return int(json.load(handle)["settings"]["seeds"])


def script_run_time(script: str) -> float:
    """The naive loop's unit: one run of the user's own script, as written."""
    start = time.perf_counter()
    subprocess.run([sys.executable, script], cwd=os.path.dirname(script), capture_output=True, timeout=900)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-naive", action="store_true", help="do not run the scripts themselves")
    parser.add_argument("--skip-loaded", action="store_true", help="no idle-vs-loaded comparison")
    parser.add_argument("--json", default=os.path.join(ROOT, "bench-out", "bench.json"))
    args = parser.parse_args()
    os.makedirs(os.path.join(ROOT, "bench-out"), exist_ok=True)
    results: dict = {}

    results["overhead"] = monitoring_overhead()
    o = results["overhead"]
    print(f"monitoring overhead: probe {o['probe_s']} s vs plain fit {o['plain_fit_s']} s over "
          f"{o['steps']} steps = {o['ratio']}x (target <= {o['target']}x)")

    scripts = sorted(glob.glob(os.path.join(ROOT, "recipes", "*", "train.py")))
    scripts.append(os.path.join(ROOT, "benchmarks", "scripts", "midsize_cnn.py"))  # issue 12's CNN
    scripts.append(os.path.join(ROOT, "tests", "scripts", "healthy_mlp.py"))
    results["probe"] = []
    print(f"\n{'script':44} {'wall s':>6} {'run s':>6} {'x run':>5} {'verdict':9} {'steps':>6} "
          f"{'fixes':>5} {'+1 fix s':>8} {'/base':>5} {'naive s':>8} {'x':>5} {'naive x seeds':>13} {'x':>5}  top fix")
    for script in scripts:
        args_file = os.path.join(os.path.dirname(script), "nanfix-args")
        extra = open(args_file).read().split() if os.path.exists(args_file) else []
        row = probe_wall_time(script, extra)
        if not args.skip_naive:
            # one plain run of the user's own script (TensorFlow start included, as in ours)
            one_run = script_run_time(script)
            row["script_run_s"] = round(one_run, 2)
            row["report_vs_run"] = round(row["wall_s"] / one_run, 1)
        if not args.skip_naive and row["candidates"]:
            row["naive_s"] = round(one_run * (row["candidates"] + 1), 1)
            row["speedup"] = round(row["naive_s"] / row["wall_s"], 1)
            # the same evidence as the report: the script and every candidate on every seed
            seeds = report_seeds(row)
            row["naive_same_evidence_s"] = round(row["naive_s"] * seeds, 1)
            row["speedup_same_evidence"] = round(row["naive_same_evidence_s"] / row["wall_s"], 1)
        results["probe"].append(row)
        print(f"{row['script']:44} {row['wall_s']:6.1f} {row.get('script_run_s', '-'):>6} "
              f"{row.get('report_vs_run', '-'):>5} {row['verdict']:9} {row['steps_probed']:6d} "
              f"{row['candidates']:5d} "
              f"{row.get('candidate_seed_s') or '-':>8} {row.get('candidate_vs_baseline') or '-':>5} "
              f"{row.get('naive_s', '-'):>8} "
              f"{row.get('speedup', '-'):>5} {row.get('naive_same_evidence_s', '-'):>13} "
              f"{row.get('speedup_same_evidence', '-'):>5}  {row['top_fix'] or ''}")

    results["stacked_step"] = stacked_step()
    print("\nstacked seeds: three seeds' steps in one compiled step against one after the other")
    for row in results["stacked_step"]:
        print(f"  {row['model']:32} three single steps {row['three_single_steps_ms']:6.2f} ms, "
              f"one stacked step {row['stacked_step_ms']:6.2f} ms = {row['ratio']}x")

    if not args.skip_loaded:
        loaded = idle_and_loaded(os.path.join(ROOT, "recipes", "seed001_log_loss", "train.py"))
        results["idle_and_loaded"] = loaded
        print(f"\nidle vs loaded (two CPU-bound processes): {loaded['script']}: {loaded['idle_s']} s idle, "
              f"{loaded['loaded_s']} s loaded, same report: {loaded['same_report']} "
              f"(top fix {loaded['top_fix']})")

    guard = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench_guard.py"),
                            "--json", os.path.join(ROOT, "bench-out", "guard.json")],
                           cwd=ROOT, capture_output=True, text=True)
    print("\nNanGuard overhead:\n" + guard.stdout.strip())
    if os.path.exists(os.path.join(ROOT, "bench-out", "guard.json")):
        results["guard"] = json.load(open(os.path.join(ROOT, "bench-out", "guard.json")))
    with open(args.json, "w") as handle:
        json.dump(results, handle, indent=2, default=str)
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
