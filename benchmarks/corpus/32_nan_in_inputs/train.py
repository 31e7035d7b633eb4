# "Credit-risk regression on 10 standardised applicant features. Loss is nan from the very first
# epoch, even with a tiny learning rate."  About 1% of the rows have a value pandas left as NaN.
# BUG: NaN in the input features poisons every batch containing one; impute or drop those rows.
import keras
import numpy as np

rng = np.random.default_rng(32)
n = 2000
x = rng.normal(size=(n, 10)).astype("float32")
y = (np.tanh(x @ rng.normal(size=(10,))) + 0.3 * x[:, 2] * x[:, 5]).astype("float32")
missing_rows = rng.choice(n, size=20, replace=False)
x[missing_rows, rng.integers(0, 10, size=20)] = np.nan      # ~1% rows with a missing value

model = keras.Sequential([
    keras.Input(shape=(10,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(1),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-4), loss="mse")
model.fit(x, y, batch_size=32, epochs=5, verbose=2)
