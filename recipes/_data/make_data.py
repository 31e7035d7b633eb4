"""Deterministic, offline data for the recipes (no downloads).

* ``digits28()``: scikit-learn's bundled 8x8 ``load_digits`` (1797 images, values 0..16),
  resampled bilinearly to 28x28 and scaled to 0..255 - an MNIST stand-in with MNIST's
  shape and value range.
* ``lines32()``: 32x32 images of solid vs broken straight lines (seed 003's data).
* ``write_mnist_csv()``: the digits stand-in as an MNIST-style CSV
  (``label,1x1,...,28x28``), used by seed000.

Everything is a pure function of its arguments, so every run sees the same arrays.
Run ``python recipes/_data/make_data.py`` to (re)write the committed CSV.
"""

from __future__ import annotations

import os

import numpy as np


def digits28(augment: int = 0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """MNIST stand-in: ``x`` uint8 of shape (n, 28, 28) in 0..255, ``y`` int64 labels 0..9.

    The 1797 digits come in a fixed shuffled order. ``augment`` > 0 appends that many
    copies, each shifted by up to 2 pixels, for scripts that want more rows.
    """
    from scipy.ndimage import shift as nd_shift
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images.astype(np.float64)  # (1797, 8, 8), 0..16
    # 8x8 -> 24x24 bilinear, padded by 2 on each side like MNIST's centred 20x20 box in 28x28.
    big = zoom(images, (1, 3, 3), order=1)
    big = np.pad(big, ((0, 0), (2, 2), (2, 2)))
    x = np.clip(np.rint(big * (255.0 / 16.0)), 0, 255)
    y = digits.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    x, y = x[order], y[order]
    if augment:
        parts_x, parts_y = [x], [y]
        for _ in range(augment):
            dy, dx = rng.integers(-2, 3, size=2)
            parts_x.append(np.clip(np.rint(nd_shift(x, (0, dy, dx), order=0)), 0, 255))
            parts_y.append(y)
        x, y = np.concatenate(parts_x), np.concatenate(parts_y)
        order = rng.permutation(len(x))
        x, y = x[order], y[order]
    return x.astype(np.uint8), y


def load_mnist_like(test: int = 297):
    """Drop-in for ``keras.datasets.mnist.load_data()``: ``(x_train, y_train), (x_test, y_test)``
    with uint8 28x28 images in 0..255 (1500 train / 297 test from the digits stand-in)."""
    x, y = digits28()
    return (x[:-test], y[:-test]), (x[-test:], y[-test:])


def _draw_line(img: np.ndarray, rng: np.random.Generator, broken: bool) -> None:
    size = img.shape[0]
    kind = rng.integers(0, 4)  # 0 horizontal, 1 vertical, 2 diagonal, 3 anti-diagonal
    length = int(rng.integers(16, 29))
    if kind == 0:
        r, c = int(rng.integers(2, size - 2)), int(rng.integers(0, size - length + 1))
        pts = [(r, c + i) for i in range(length)]
    elif kind == 1:
        r, c = int(rng.integers(0, size - length + 1)), int(rng.integers(2, size - 2))
        pts = [(r + i, c) for i in range(length)]
    elif kind == 2:
        r, c = int(rng.integers(0, size - length + 1)), int(rng.integers(0, size - length + 1))
        pts = [(r + i, c + i) for i in range(length)]
    else:
        r, c = int(rng.integers(0, size - length + 1)), int(rng.integers(length - 1, size))
        pts = [(r + i, c - i) for i in range(length)]
    if broken:  # remove a gap of 2..4 pixels somewhere in the middle of the line
        gap = int(rng.integers(2, 5))
        start = int(rng.integers(4, length - 4 - gap + 1))
        pts = pts[:start] + pts[start + gap :]
    for r, c in pts:
        img[r, c] = 1.0


def lines32(n: int = 1024, seed: int = 0, noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 32x32 float32 images in 0..1 with one line each, half solid and half broken.

    Returns ``x`` (n, 32, 32) and ``y`` int64, 0 = solid, 1 = broken, in shuffled order.
    """
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 32, 32), dtype=np.float32)
    y = (np.arange(n) % 2).astype(np.int64)
    for i in range(n):
        _draw_line(x[i], rng, broken=bool(y[i]))
    if noise:
        x = np.clip(x + rng.normal(0, noise, x.shape).astype(np.float32), 0, 1)
    order = rng.permutation(n)
    return x[order], y[order]


def write_mnist_csv(path: str, rows: int = 1797) -> None:
    """MNIST-as-CSV layout: header ``label,1x1,1x2,...,28x28``, then one digit per row."""
    x, y = digits28()
    x, y = x[:rows].reshape(-1, 784), y[:rows]
    header = ["label"] + [f"{r}x{c}" for r in range(1, 29) for c in range(1, 29)]
    table = np.concatenate([y[:, None], x.astype(np.int64)], axis=1)
    np.savetxt(path, table, fmt="%d", delimiter=",", header=",".join(header), comments="")


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    target = os.path.join(here, "..", "seed000_mnist_csv_sigmoid", "mnist_small.csv")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    write_mnist_csv(target, rows=1000)
    print("wrote", os.path.normpath(target), os.path.getsize(target), "bytes")
