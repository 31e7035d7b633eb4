"""The exploding regression, except that it kills its own process when a Ray worker runs it
(as a script that blows the worker's memory would): the sweep must survive its workers."""
import os
import sys

if "ray" in sys.modules and os.environ.get("NANFIX_TEST_KILL_RAY_WORKERS"):
    os._exit(1)

import keras
import numpy as np

rng = np.random.default_rng(0)
x = rng.normal(0, 1, (1000, 8)).astype("float32")
y = (x @ rng.normal(0, 1, (8, 1)) * 1000.0 + 5000.0).astype("float32")
model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(16, activation="relu"),
                          keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")
model.fit(x, y, batch_size=32, epochs=5)
