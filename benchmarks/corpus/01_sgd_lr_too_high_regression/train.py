# "My regression loss is fine for a few batches, then it becomes inf and nan. Inputs and
# targets are standardised, so what is going on?"  Tabular regression (8 sensor features ->
# one standardised reading), small MLP.
# BUG: SGD learning_rate=1.0 is far too high for this network; the updates overshoot and blow up.
import keras
import numpy as np

rng = np.random.default_rng(1)
x = rng.normal(size=(1600, 8)).astype("float32")
w1 = rng.normal(size=(8, 16))
w2 = rng.normal(size=(16,))
y = np.tanh(x @ w1) @ w2 + 0.3 * x[:, 0] * x[:, 1]
y = ((y - y.mean()) / y.std()).astype("float32")

model = keras.Sequential([
    keras.Input(shape=(8,)),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(1),
])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="mse", metrics=["mae"])
model.fit(x, y, batch_size=32, epochs=6, validation_split=0.2, verbose=2)
