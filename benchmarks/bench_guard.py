"""What NanGuard costs: wall time of a plain `fit`, with `TerminateOnNaN`, with `NanGuard`, and
with its flight recorder on (`NanGuard(record=DIR)`: a snapshot of the weights and the optimizer
state every 50 steps, the last 4 batches kept; nothing is written unless training fails).

An MNIST-sized MLP (784-128-10) on random data, 5 epochs x 200 steps of batch 32; each
figure is the median of `--repeats` runs after one warm-up run, and the ratio is against
the plain fit.

Example::

    TF_CPP_MIN_LOG_LEVEL=3 python benchmarks/bench_guard.py --json /tmp/bench_guard.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from nanfix.keras import NanGuard  # noqa: E402


def make_data(steps: int, batch_size: int):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(steps * batch_size, 784)).astype("float32")
    y = rng.integers(0, 10, size=steps * batch_size)
    return x, y


def make_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(10)])
    model.compile(keras.optimizers.Adam(1e-3),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def time_fit(make_callbacks, x, y, epochs: int, batch_size: int) -> float:
    """Seconds for one `fit` of a fresh model (compilation included, as users pay it)."""
    model = make_model()
    callbacks = make_callbacks()
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, shuffle=False,
              callbacks=callbacks)
    return time.perf_counter() - start


VARIANTS = {
    "plain fit": lambda: [],
    "TerminateOnNaN": lambda: [keras.callbacks.TerminateOnNaN()],
    "NanGuard": lambda: [NanGuard()],
    "NanGuard(record=DIR)": lambda: [NanGuard(record=tempfile.mkdtemp(prefix="nanfix-bench-record-"))],
}


def run(epochs: int, steps: int, batch_size: int, repeats: int) -> dict:
    x, y = make_data(steps, batch_size)
    for make_callbacks in VARIANTS.values():  # warm-up: first-use costs out of the figures
        time_fit(make_callbacks, x, y, 1, batch_size)
    seconds = {name: [] for name in VARIANTS}
    for _ in range(repeats):  # interleaved, so drift in the machine hits every variant alike
        for name, make_callbacks in VARIANTS.items():
            seconds[name].append(time_fit(make_callbacks, x, y, epochs, batch_size))
    medians = {name: statistics.median(times) for name, times in seconds.items()}
    plain = medians["plain fit"]
    return {
        "setup": {"model": "MLP 784-128-10", "epochs": epochs, "steps_per_epoch": steps,
                  "batch_size": batch_size, "repeats": repeats, "backend": keras.backend.backend(),
                  "keras": keras.__version__},
        "results": [{"variant": name, "median_s": medians[name], "runs_s": seconds[name],
                     "ratio_vs_plain": medians[name] / plain} for name in VARIANTS],
    }


def print_table(figures: dict) -> None:
    setup = figures["setup"]
    print(f"{setup['model']}, {setup['epochs']} epochs x {setup['steps_per_epoch']} steps, "
          f"batch {setup['batch_size']}, median of {setup['repeats']} after a warm-up")
    print(f"{'variant':<22}{'median s':>10}{'vs plain':>10}")
    for row in figures["results"]:
        print(f"{row['variant']:<22}{row['median_s']:>10.2f}{row['ratio_vs_plain']:>9.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    arguments = parser.parse_args(argv)
    figures = run(arguments.epochs, arguments.steps, arguments.batch_size, arguments.repeats)
    print_table(figures)
    if arguments.json:
        arguments.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
