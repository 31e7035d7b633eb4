"""Turn whatever the script passed to fit into bounded in-memory arrays.

fit accepts NumPy arrays, tensors, tf.data.Dataset, Python generators and
keras.utils.PyDataset. A probe needs only a few hundred batches, so we take a bounded sample
of each into NumPy once; every seed and every candidate fix then trains on the very same
arrays, which is what makes their results comparable (and cheap: no input pipeline reruns).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

Nest = Any  # an array, or a list/tuple/dict of arrays (multi-input or multi-output models)


@dataclass
class TrainingData:
    x: Nest
    y: Nest
    sample_weight: np.ndarray | None
    batch_size: int
    x_val: Nest | None = None
    y_val: Nest | None = None
    source: str = "arrays"  # "arrays" | "dataset" | "generator" | "pydataset" | "config"
    total_samples: int | None = None  # how many the script had, when known
    # the share fit's `validation_split` took from the end of x for x_val (0: none, or the
    # validation data came on its own): a change to x before fit changes x_val too
    validation_split: float = 0.0

    @property
    def samples(self) -> int:
        return first_array(self.x).shape[0]

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "samples": self.samples,
            "total_samples": self.total_samples,
            "batch_size": self.batch_size,
            "x_shape": shape_of(self.x),
            "y_shape": shape_of(self.y),
            "validation_samples": None if self.x_val is None else first_array(self.x_val).shape[0],
        }


def map_nest(function, nest: Nest) -> Nest:
    if isinstance(nest, dict):
        return {key: map_nest(function, value) for key, value in nest.items()}
    if isinstance(nest, (list, tuple)):
        return type(nest)(map_nest(function, value) for value in nest)
    return function(nest)


def leaves(nest: Nest) -> list[np.ndarray]:
    if isinstance(nest, dict):
        return [leaf for value in nest.values() for leaf in leaves(value)]
    if isinstance(nest, (list, tuple)):
        return [leaf for value in nest for leaf in leaves(value)]
    return [nest]


def first_array(nest: Nest) -> np.ndarray:
    return leaves(nest)[0]


def shape_of(nest: Nest) -> Any:
    if nest is None:
        return None
    return map_nest(lambda a: list(np.shape(a)), nest)


def to_numpy(value: Any) -> Any:
    """Tensors, pandas frames and lists become NumPy arrays; nests keep their shape."""
    if value is None:
        return None
    if isinstance(value, (dict, list, tuple)) and not _is_plain_sequence(value):
        return map_nest(to_numpy, value)
    if hasattr(value, "numpy") and callable(value.numpy):
        return np.asarray(value.numpy())
    if hasattr(value, "to_numpy") and callable(value.to_numpy):
        return np.asarray(value.to_numpy())
    return np.asarray(value)


def _is_plain_sequence(value: Any) -> bool:
    """A list of numbers is one array; a list of arrays is a multi-input nest."""
    if isinstance(value, dict):
        return False
    return len(value) > 0 and all(np.isscalar(item) for item in value)


def take(nest: Nest, index: np.ndarray) -> Nest:
    return map_nest(lambda a: a[index], nest)


def concatenate(parts: list[Nest]) -> Nest:
    first = parts[0]
    if isinstance(first, dict):
        return {key: concatenate([part[key] for part in parts]) for key in first}
    if isinstance(first, (list, tuple)):
        return type(first)(concatenate([part[i] for part in parts]) for i in range(len(first)))
    return np.concatenate([np.asarray(part) for part in parts], axis=0)


def _split_element(element: Any) -> tuple[Any, Any, Any]:
    """A batch from a dataset/generator is x, (x, y) or (x, y, sample_weight)."""
    if isinstance(element, tuple):
        if len(element) == 1:
            return element[0], None, None
        if len(element) == 2:
            return element[0], element[1], None
        if len(element) == 3:
            return element
    return element, None, None


def _drain(stream, max_samples: int, max_batches: int) -> tuple[Nest, Nest, Any, int]:
    xs, ys, weights, batch_size, count = [], [], [], None, 0
    for index, element in enumerate(stream):
        x, y, weight = _split_element(element)
        x, y, weight = to_numpy(x), to_numpy(y), to_numpy(weight)
        if batch_size is None:
            batch_size = first_array(x).shape[0]
        xs.append(x)
        ys.append(y)
        weights.append(weight)
        count += first_array(x).shape[0]
        if count >= max_samples or index + 1 >= max_batches:
            break
    if not xs:
        raise ValueError("the training data passed to fit yielded no batches")
    if any(y is None for y in ys):
        raise ValueError("the training data passed to fit has no targets (y)")
    weight = None if any(w is None for w in weights) else concatenate(weights)
    return concatenate(xs), concatenate(ys), weight, batch_size or 32


def _is_dataset(value: Any) -> bool:
    return type(value).__name__.endswith("Dataset") and hasattr(value, "as_numpy_iterator")


def _is_pydataset(value: Any) -> bool:
    return hasattr(value, "__getitem__") and hasattr(value, "__len__") and hasattr(
        value, "on_epoch_end"
    )


def _stream_of(value: Any, max_batches: int):
    if _is_dataset(value):
        return "dataset", value.take(max_batches).as_numpy_iterator()
    if _is_pydataset(value):
        return "pydataset", (value[i] for i in range(min(len(value), max_batches)))
    if hasattr(value, "__next__") or inspect_is_generator(value):
        return "generator", value
    return None, None


def inspect_is_generator(value: Any) -> bool:
    import inspect

    return inspect.isgenerator(value)


def from_fit_args(fit_args: dict[str, Any], max_samples: int, seed: int = 0) -> TrainingData:
    """Materialise fit's x/y/validation arguments, bounded to max_samples rows."""
    x, y = fit_args.get("x"), fit_args.get("y")
    batch_size = fit_args.get("batch_size") or 32
    total = None
    source, stream = _stream_of(x, max_batches=max(1, max_samples // 8))
    if stream is not None:
        x, y, sample_weight, batch_size = _drain(stream, max_samples, max_batches=max_samples)
        batch_size = fit_args.get("batch_size") or batch_size
    else:
        if x is None or y is None:
            raise ValueError("fit was called without training targets (y)")
        source = "arrays"
        x, y = to_numpy(x), to_numpy(y)
        sample_weight = to_numpy(fit_args.get("sample_weight"))
        total = first_array(x).shape[0]

    x_val, y_val = _validation(fit_args, max_samples)
    split = float(fit_args.get("validation_split") or 0.0)
    if x_val is None and split > 0 and source == "arrays":
        # Keras takes the last fraction of the arrays, before shuffling.
        cut = int(first_array(x).shape[0] * (1.0 - split))
        x_val, y_val = take(x, np.arange(cut, first_array(x).shape[0])), take(
            y, np.arange(cut, first_array(x).shape[0])
        )
        x, y = take(x, np.arange(cut)), take(y, np.arange(cut))
        if sample_weight is not None:
            sample_weight = sample_weight[:cut]
    else:
        split = 0.0

    count = first_array(x).shape[0]
    if count > max_samples:
        chosen = np.sort(np.random.default_rng(seed).choice(count, max_samples, replace=False))
        x, y = take(x, chosen), take(y, chosen)
        if sample_weight is not None:
            sample_weight = sample_weight[chosen]

    class_weight = fit_args.get("class_weight")
    if class_weight:
        ids = class_ids(y)
        weights = np.array([float(class_weight.get(int(c), 1.0)) for c in ids], dtype="float32")
        sample_weight = weights if sample_weight is None else sample_weight * weights

    return TrainingData(
        x=x,
        y=y,
        sample_weight=sample_weight,
        batch_size=int(batch_size),
        x_val=x_val,
        y_val=y_val,
        source=source,
        total_samples=total,
        validation_split=split,
    )


def fit_steps(fit_args: dict[str, Any], data: TrainingData) -> int | None:
    """How many optimizer steps the script's own `fit` would run (epochs x steps per epoch),
    or None where nothing says (an endless generator without `steps_per_epoch`)."""
    epochs = max(1, int(fit_args.get("epochs") or 1) - int(fit_args.get("initial_epoch") or 0))
    per_epoch = fit_args.get("steps_per_epoch")
    x = fit_args.get("x")
    if per_epoch is None and data.source == "arrays" and data.total_samples:
        rows = int(data.total_samples * (1.0 - float(fit_args.get("validation_split") or 0.0)))
        per_epoch = math.ceil(rows / max(1, data.batch_size))
    elif per_epoch is None and data.source == "pydataset":
        per_epoch = len(x)
    elif per_epoch is None and data.source == "dataset":
        batches = int(x.cardinality().numpy())
        per_epoch = batches if batches > 0 else None  # -1 infinite, -2 unknown
    return int(per_epoch) * epochs if per_epoch else None


def _validation(fit_args: dict[str, Any], max_samples: int) -> tuple[Nest, Nest]:
    data = fit_args.get("validation_data")
    if data is None:
        return None, None
    if isinstance(data, tuple):
        return to_numpy(data[0]), to_numpy(data[1])
    _, stream = _stream_of(data, max_batches=max(1, max_samples // 8))
    if stream is None:
        return None, None
    x, y, _, _ = _drain(stream, max_samples=min(max_samples, 2048), max_batches=64)
    return x, y


def class_ids(y: Nest) -> np.ndarray:
    """Integer class ids from one-hot rows or from sparse labels."""
    y = np.asarray(first_array(y))
    if y.ndim > 1 and y.shape[-1] > 1:
        return np.argmax(y, axis=-1).reshape(-1)
    return np.asarray(y).reshape(-1).astype("int64")


# A flat row this wide of whole numbers in 0..255 is a flattened image (4x4 patches and up);
# raw pixels also reach past half the range somewhere (digits at 0..16 are not 0..255 pixels).
PIXEL_COLUMNS = 16
PIXEL_HIGH = 127


def looks_like_pixels(x: Any) -> bool:
    """Whole numbers within 0..255 that reach past 127, stored as bytes, laid out as an image
    or as many columns of one (a flattened image). Tabular columns that merely lie within
    0..255 (ages, scores) are not pixels: "divide by 255" would be the wrong words for them."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.number) or x.ndim < 2 or x.size == 0:
        return False
    sample = x.reshape(-1)[:200000]
    if np.issubdtype(sample.dtype, np.floating):
        sample = sample[np.isfinite(sample)]
    if sample.size == 0 or sample.min() < 0 or not PIXEL_HIGH < sample.max() <= 255:
        return False
    whole = bool(np.all(np.mod(sample, 1) == 0))
    laid_out = x.dtype == np.uint8 or x.ndim >= 3 or int(np.prod(x.shape[1:])) >= PIXEL_COLUMNS
    return whole and laid_out
