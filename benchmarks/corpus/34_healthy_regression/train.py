# Healthy reference: house-price regression done right - raw spreadsheet features and dollar
# prices are both standardised before fit, MSE, Adam. The loss falls well below 1 (the variance).
import keras
import numpy as np

rng = np.random.default_rng(34)
n = 1500
sqft = rng.uniform(500, 4000, n)
lot = rng.uniform(1000, 20000, n)
year = rng.uniform(1900, 2020, n)
dist = rng.uniform(100, 30000, n)
x_raw = np.stack([sqft, lot, year, dist], axis=1)
z = (x_raw - x_raw.mean(0)) / x_raw.std(0)
price = 1e5 + 120 * sqft + 4 * lot + 800 * (year - 1900) - 3 * dist + 2e4 * np.tanh(z[:, 0] * z[:, 2])

x = z.astype("float32")
y_mean, y_std = price.mean(), price.std()
y = ((price - y_mean) / y_std).astype("float32")

model = keras.Sequential([
    keras.Input(shape=(4,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(1),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3), loss="mse", metrics=["mae"])
model.fit(x, y, batch_size=32, epochs=6, validation_split=0.2, verbose=2)
