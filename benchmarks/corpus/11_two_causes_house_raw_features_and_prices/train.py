# "House price model straight from my spreadsheet: square feet, lot size, year built, distance
# to the centre (m), rooms -> price in dollars. Loss is nan from epoch 1."
# BUG (two causes): the inputs are raw (up to ~3e4) AND the targets are raw dollars (~1e5..8e5);
# fixing only one of them still blows SGD up. Standardise x and y.
import keras
import numpy as np

rng = np.random.default_rng(11)
n = 1500
sqft = rng.uniform(500, 4000, n)
lot = rng.uniform(1000, 20000, n)
year = rng.uniform(1900, 2020, n)
dist = rng.uniform(100, 30000, n)
rooms = rng.integers(1, 8, n)
x = np.stack([sqft, lot, year, dist, rooms], axis=1).astype("float32")
z = (x - x.mean(0)) / x.std(0)
price = 1e5 + 120 * sqft + 4 * lot + 800 * (year - 1900) - 3 * dist + 5e3 * rooms + 2e4 * np.tanh(z[:, 0] * z[:, 2])
y = price.astype("float32")

model = keras.Sequential([
    keras.Input(shape=(5,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(1),
])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")
model.fit(x, y, batch_size=32, epochs=5, verbose=2)
