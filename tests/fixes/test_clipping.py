"""Tests for the clipping fix family (nanfix/fixes/clipping.py): each fix sets one kind of clip.
"""

from __future__ import annotations

import keras
import numpy as np
from builders import blobs, make_setup

from .helpers import mlp, proposed


def test_clipping_sets_only_one_kind_of_clip():
    x, ids = blobs()
    setup = make_setup(mlp(20, 4), keras.optimizers.SGD(0.1, clipnorm=5.0),
                       "categorical_crossentropy", x, np.eye(4)[ids])
    found = proposed(setup, "clipping")
    assert {fix.id for fix in found} == {"clipnorm-1", "global_clipnorm-1", "clipvalue-0.5"}
    for fix in found:
        optimizer = keras.optimizers.deserialize(fix.apply(setup).optimizer_config)  # Keras allows one
        assert sum(getattr(optimizer, key) is not None for key in ("clipnorm", "global_clipnorm", "clipvalue")) == 1
