# "House prices (~70k..440k dollars) from 8 standardised features. The MSE starts at 1e26 and
# stays astronomically high. The features ARE standardised, I checked."
# BUG: the regression targets are raw dollars (~2.5e5); the MSE gradients are ~1e5x too big for
# SGD(0.01). Standardise y (and un-standardise the predictions).
import keras
import numpy as np

rng = np.random.default_rng(9)
n = 1500
x = rng.normal(size=(n, 8)).astype("float32")
price = 2.5e5 + 6e4 * (x @ rng.normal(size=(8,)) / 3) + 3e4 * np.tanh(x[:, 0] * x[:, 1])
y = price.astype("float32")

model = keras.Sequential([
    keras.Input(shape=(8,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(1),
])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")
model.fit(x, y, batch_size=32, epochs=5, verbose=2)
