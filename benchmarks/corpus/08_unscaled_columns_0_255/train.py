# "Survey data: age, test score, exercise minutes, visits, a 0-255 rating, blood pressure ->
# a standardised health index. Loss is nan at once, yet every column is below 256!"
# BUG: columns in 0..255 are still far from unit scale (means ~50-125); standardise each column
# ((x - mean) / std, not /255: the columns have different ranges and offsets).
import keras
import numpy as np

rng = np.random.default_rng(8)
n = 2000
age = rng.integers(18, 91, n)
score = rng.integers(0, 101, n)
minutes = rng.integers(0, 241, n)
visits = rng.integers(0, 61, n)
rating = rng.integers(0, 256, n)
blood_pressure = rng.normal(125, 18, n)
x = np.stack([age, score, minutes, visits, rating, blood_pressure], axis=1).astype("float32")
z = (x - x.mean(0)) / x.std(0)
y = 1.2 * z[:, 0] - 1.0 * z[:, 1] + 0.8 * z[:, 2] * z[:, 3] + 0.9 * z[:, 5] - 0.6 * z[:, 4] ** 2
y = ((y - y.mean()) / y.std()).astype("float32")

model = keras.Sequential([
    keras.Input(shape=(6,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(16, activation="relu"),
    keras.layers.Dense(1),
])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")
model.fit(x, y, batch_size=32, epochs=5, verbose=2)
