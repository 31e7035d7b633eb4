"""The dataset config (`--data data.yaml`): CSV / NPZ / NPY files into training arrays.

For people whose script loads data from somewhere nanfix cannot reach in a probe, or who
prefer to say exactly what to train on. The config feeds the script's model in place of the
arrays given to fit. A dataset config::

    source: mnist_small.csv   # path, relative to this file
    format: csv               # csv | npz | npy (default: from the extension)
    label: label              # target column (csv), array name (npz); npy: `labels: y.npy`
    features: "1x1:28x28"     # column range or list of columns; default: all but the label
    one_hot: 10               # optional: one-hot encode integer labels into 10 classes
    limit: 2000               # optional: read at most this many rows
    shuffle: true             # shuffle rows (seeded by `seed`, default 0)
    validation_split: 0.2     # hold out the last fraction for evaluation
    batch_size: 32            # optional: override the script's batch size

Pixel values are not rescaled: the config reads the data as the script would see it, so the
doctor can find what is wrong with it.
"""

from __future__ import annotations

import csv
import os
from typing import Any

import numpy as np
import yaml

from nanfix.capture.training_data import TrainingData

KNOWN_KEYS = {"source", "format", "label", "labels", "features", "x", "y", "one_hot", "limit",
              "shuffle", "seed", "validation_split", "batch_size", "dtype"}


class DataConfigError(Exception):
    """A dataset config that cannot be read; the message names the key and what is wrong."""


def load(path: str, default_batch_size: int = 32) -> TrainingData:
    config = read_config(path)
    base = os.path.dirname(os.path.abspath(path))
    source = _path(base, config, "source")
    kind = config.get("format") or os.path.splitext(source)[1].lstrip(".").lower()
    if kind == "csv":
        x, y = _read_csv(source, config)
    elif kind == "npz":
        x, y = _read_npz(source, config)
    elif kind == "npy":
        x = np.load(source, allow_pickle=False)
        if "labels" not in config:
            raise DataConfigError(f"{path}: `labels` is required with format npy (a .npy file of targets)")
        y = np.load(_path(base, config, "labels"), allow_pickle=False)
    else:
        raise DataConfigError(f"{path}: `format` must be csv, npz or npy (got {kind!r})")
    if len(x) != len(y):
        raise DataConfigError(f"{path}: {len(x)} feature rows but {len(y)} labels")
    x = x.astype(config.get("dtype", "float32"))
    limit = config.get("limit")
    if config.get("shuffle", False):
        order = np.random.default_rng(int(config.get("seed", 0))).permutation(len(x))
        x, y = x[order], y[order]
    if limit:
        x, y = x[: int(limit)], y[: int(limit)]
    if config.get("one_hot"):
        classes = int(config["one_hot"])
        ids = y.reshape(-1).astype("int64")
        if ids.min() < 0 or ids.max() >= classes:
            raise DataConfigError(f"{path}: `one_hot: {classes}` but labels span {ids.min()}..{ids.max()}")
        y = np.eye(classes, dtype="float32")[ids]
    split = float(config.get("validation_split", 0.0))
    if not 0.0 <= split < 1.0:
        raise DataConfigError(f"{path}: `validation_split` must be in [0, 1) (got {split})")
    x_val = y_val = None
    if split:
        cut = int(len(x) * (1.0 - split))
        x, x_val, y, y_val = x[:cut], x[cut:], y[:cut], y[cut:]
    return TrainingData(x=x, y=y, sample_weight=None,
                        batch_size=int(config.get("batch_size") or default_batch_size),
                        x_val=x_val, y_val=y_val, source="config", total_samples=len(x))


def read_config(path: str) -> dict[str, Any]:
    if not os.path.exists(path):
        raise DataConfigError(f"dataset config {path} does not exist")
    try:
        with open(path) as handle:
            config = yaml.safe_load(handle)
    except yaml.YAMLError as error:
        raise DataConfigError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(config, dict):
        raise DataConfigError(f"{path} must be a mapping of keys such as source, label, features")
    unknown = sorted(set(config) - KNOWN_KEYS)
    if unknown:
        raise DataConfigError(f"{path}: unknown key(s) {', '.join(unknown)}; known keys: "
                              f"{', '.join(sorted(KNOWN_KEYS))}")
    if "source" not in config:
        raise DataConfigError(f"{path}: `source` (the data file) is required")
    return config


def _path(base: str, config: dict[str, Any], key: str) -> str:
    path = os.path.join(base, str(config[key]))
    if not os.path.exists(path):
        raise DataConfigError(f"`{key}`: {config[key]} not found (looked in {base})")
    return path


def _read_csv(source: str, config: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    with open(source, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        limit = config.get("limit") if not config.get("shuffle") else None
        rows = []
        for row in reader:
            rows.append(row)
            if limit and len(rows) >= int(limit):
                break
    label = config.get("label", header[-1])
    labels = [label] if isinstance(label, (str, int)) else list(label)
    label_columns = [_column(header, name, "label") for name in labels]
    feature_columns = _features(header, config.get("features"), label_columns)
    try:
        table = np.array(rows, dtype="float64")
    except ValueError as error:
        raise DataConfigError(f"{source}: non-numeric value in the CSV ({error})") from None
    y = table[:, label_columns]
    return table[:, feature_columns], (y[:, 0] if len(label_columns) == 1 else y)


def _column(header: list[str], name: Any, key: str) -> int:
    if isinstance(name, int):
        return name
    if name not in header:
        raise DataConfigError(f"`{key}`: column {name!r} not in the CSV header")
    return header.index(name)


def _features(header: list[str], features: Any, label_columns: list[int]) -> list[int]:
    if features is None:
        return [i for i in range(len(header)) if i not in label_columns]
    if isinstance(features, str) and ":" in features:
        first, last = features.split(":", 1)
        return list(range(_column(header, first, "features"), _column(header, last, "features") + 1))
    if isinstance(features, str):
        return [_column(header, features, "features")]
    return [_column(header, name, "features") for name in features]


def _read_npz(source: str, config: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    archive = np.load(source, allow_pickle=False)
    x_key = config.get("x", "x")
    y_key = config.get("y", config.get("label", "y"))
    for key, name in ((x_key, "x"), (y_key, "y")):
        if key not in archive:
            raise DataConfigError(f"`{name}`: array {key!r} not in {source} (has {', '.join(archive.files)})")
    return archive[x_key], archive[y_key]
