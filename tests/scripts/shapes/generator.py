"""A Python generator of batches, endless, with steps_per_epoch."""
import keras
import numpy as np
from _blobs import blobs

x, labels = blobs()


def batches(size=32):
    rng = np.random.default_rng(1)
    while True:
        index = rng.integers(0, len(x), size)
        yield x[index], labels[index]


model = keras.Sequential([keras.Input(shape=(20,)), keras.layers.Dense(32, activation="relu"),
                          keras.layers.Dense(3, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
model.fit(batches(), steps_per_epoch=30, epochs=4)
