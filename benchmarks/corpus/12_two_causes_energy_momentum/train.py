# "Building energy use (kWh ~8k..27k) from temperature in kelvin, humidity %, floor area m^2,
# occupants and hour of day. SGD with momentum and a careful rate of 1e-3 - nan in epoch 1."
# BUG (two causes): raw inputs (temperature ~288 K, area up to 2000) AND raw kWh targets; either
# alone still blows up (checked). Standardise both x and y.
import keras
import numpy as np

rng = np.random.default_rng(12)
n = 1500
temp_k = rng.normal(288, 8, n)
humidity = rng.uniform(20, 95, n)
area = rng.uniform(80, 2000, n)
occupants = rng.integers(1, 60, n)
hour = rng.uniform(0, 24, n)
x = np.stack([temp_k, humidity, area, occupants, hour], axis=1).astype("float32")
kwh = 8000 + 6 * area + 40 * occupants + 150 * np.abs(temp_k - 291) + 30 * humidity \
    + 1500 * np.sin(hour / 24 * 2 * np.pi)
y = kwh.astype("float32")

model = keras.Sequential([
    keras.Input(shape=(5,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(1),
])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e-3, momentum=0.9), loss="mse")
model.fit(x, y, batch_size=32, epochs=6, verbose=2)
