"""Linear regression on 8 points drawn with Python's unseeded `random` (x in -8..8) and plain
gradient descent at 0.1: run plainly, most draws go NaN within a few dozen steps, and a lucky
one converges. Each run of the script is a different draw."""
import random

import keras
import numpy as np

xs = [random.uniform(-8, 8) for _ in range(8)]
ys = [3 * x + 2 + random.gauss(0, 0.5) for x in xs]
x_train = np.array(xs, dtype="float32").reshape(-1, 1)
y_train = np.array(ys, dtype="float32").reshape(-1, 1)

model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
model.fit(x_train, y_train, batch_size=8, epochs=100, verbose=0)
