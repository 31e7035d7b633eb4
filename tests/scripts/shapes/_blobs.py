"""Small separable data for the test scripts (no downloads)."""

import numpy as np


def blobs(samples=1200, features=20, classes=3, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, (classes, features))
    labels = rng.integers(0, classes, samples)
    x = (centers[labels] + rng.normal(0, 1, (samples, features))) * scale
    return x.astype("float32"), labels
