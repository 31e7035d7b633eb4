# "Predicting a (standardised) house-value index from square feet, lot size, year built and
# distance to the city centre in metres. The loss is nan from the very first epoch."
# The raw feature columns are in the hundreds to tens of thousands.
# BUG: the inputs are not scaled (values up to ~3e4); the first SGD steps explode. Standardise x.
import keras
import numpy as np

rng = np.random.default_rng(6)
n = 1500
sqft = rng.uniform(500, 4000, n)
lot = rng.uniform(1000, 20000, n)
year = rng.uniform(1900, 2020, n)
dist = rng.uniform(100, 30000, n)
x = np.stack([sqft, lot, year, dist], axis=1).astype("float32")
z = (x - x.mean(0)) / x.std(0)
y = 1.5 * z[:, 0] + 0.5 * z[:, 1] + 0.7 * z[:, 2] - 0.8 * np.log1p(dist / 1000) + 0.3 * z[:, 0] * z[:, 2]
y = ((y - y.mean()) / y.std()).astype("float32")   # the target IS standardised

model = keras.Sequential([
    keras.Input(shape=(4,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(1),
])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")
model.fit(x, y, batch_size=32, epochs=5, verbose=2)
