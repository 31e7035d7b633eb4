"""Whether a script draws its data at random, and a fingerprint of what it drew.

Many scripts draw their data, splits or subsets with generators nobody seeded (Python's
`random`, NumPy's global one, `np.random.default_rng()`); a doctor that judges one draw judges
a script the user never runs. While the script runs to its fit, `watching` notes every such
draw made by the user's own code (a call from a file under the script's folder; Keras' own
calls are not the script's) and gives each unseeded `default_rng()` a generator derived from
the script seed, so that every run under one seed draws alike (reproducible) and another seed
draws anew. Then `fingerprint` tells, without copying them, whether two runs captured the
same arrays.

>>> import numpy as np
>>> fingerprint(np.arange(6).reshape(2, 3)) == fingerprint(np.arange(6).reshape(2, 3))
True
>>> fingerprint(np.arange(6)) == fingerprint(np.arange(6) + 1)
False
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from nanfix.capture.training_data import leaves

# Python's module-level draws a script makes (all bound methods of one hidden generator).
PYTHON_DRAWS = ("random", "uniform", "randint", "randrange", "choice", "choices", "sample",
                "shuffle", "gauss", "normalvariate", "triangular", "betavariate", "expovariate",
                "gammavariate", "lognormvariate", "vonmisesvariate", "paretovariate",
                "weibullvariate", "getrandbits")


class Draws:
    """What the script drew while it ran: `random` is True once it drew from an unseeded
    generator (a draw under the script seed that another seed would make otherwise)."""

    def __init__(self, folder: str, seed: int):
        self.folder, self.seed = os.path.realpath(folder), seed
        self.random = False
        self._rngs = 0

    def by_the_script(self, depth: int = 2) -> bool:
        """The caller `depth` frames up is the user's own code: a file under the script's
        folder, not an installed package."""
        filename = os.path.realpath(sys._getframe(depth).f_code.co_filename)
        return filename.startswith(self.folder + os.sep) and "site-packages" not in filename

    def next_seed(self) -> np.random.SeedSequence:
        self._rngs += 1
        return np.random.SeedSequence([self.seed, self._rngs])


@contextlib.contextmanager
def watching(script_path: str, seed: int) -> Iterator[Draws]:
    """Note the script's unseeded draws while it runs (see the module's docstring)."""
    draws = Draws(os.path.dirname(os.path.abspath(script_path)), seed)
    saved = {name: getattr(random, name) for name in PYTHON_DRAWS if hasattr(random, name)}
    numpy_state = np.random.get_state()
    original_default_rng = np.random.default_rng

    def wrap(name, function):
        def draw(*args, **kwargs):
            if draws.by_the_script():
                draws.random = True
            return function(*args, **kwargs)

        draw.__name__ = name
        return draw

    def default_rng(seed=None):
        if seed is None:
            draws.random = True  # an unseeded generator: a new draw every run
            seed = draws.next_seed()  # ...made reproducible under the script seed
        return original_default_rng(seed)

    for name, function in saved.items():
        setattr(random, name, wrap(name, function))
    np.random.default_rng = default_rng
    try:
        yield draws
    finally:
        for name, function in saved.items():
            setattr(random, name, function)
        np.random.default_rng = original_default_rng
        # NumPy's global generator: only the script's code draws from it (Keras does not)
        after = np.random.get_state()
        if not (after[2] == numpy_state[2] and np.array_equal(after[1], numpy_state[1])):
            draws.random = True


def fingerprint(*nests: Any) -> str:
    """A digest of the arrays in `nests` (their shapes, types and bytes)."""
    digest = hashlib.blake2b(digest_size=16)
    for nest in nests:
        if nest is None:
            digest.update(b"none")
            continue
        for leaf in leaves(nest):
            array = np.ascontiguousarray(np.asarray(leaf))
            digest.update(f"{array.shape}{array.dtype}".encode())
            digest.update(array.tobytes() if array.dtype != object else repr(array.tolist()).encode())
    return digest.hexdigest()
