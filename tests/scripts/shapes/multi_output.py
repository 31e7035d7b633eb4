"""Two heads with their own losses, weights and metrics: a class and a regression target.
With --bad-head the regression head's targets are in the tens of thousands."""
import sys

import keras
import numpy as np
from _blobs import blobs

x, labels = blobs()
amount = (x[:, :3].sum(axis=1, keepdims=True) / 10.0).astype("float32")
if "--bad-head" in sys.argv:
    amount = amount * 1e5
inputs = keras.Input(shape=(20,))
hidden = keras.layers.Dense(32, activation="relu")(inputs)
kind = keras.layers.Dense(3, activation="softmax", name="kind")(hidden)
size = keras.layers.Dense(1, name="size")(hidden)
model = keras.Model(inputs, {"kind": kind, "size": size})
model.compile(optimizer=keras.optimizers.Adam(1e-2),
              loss={"kind": "sparse_categorical_crossentropy", "size": "mse"},
              loss_weights={"kind": 1.0, "size": 0.5},
              metrics={"kind": ["accuracy"], "size": ["mae"]})
model.fit(x, {"kind": labels, "size": amount}, batch_size=32, epochs=5)
