# "Regression on 12 process parameters; the targets are already around unit scale. The first
# epoch loss is in the billions and it never gets back below a few hundred."
# Adam with learning_rate=5 (the user copied an exponent wrong: meant 5e-3).
# BUG: the learning rate is ~1000x too high for Adam; the first updates blow the weights up.
import keras
import numpy as np

rng = np.random.default_rng(3)
x = rng.normal(size=(1500, 12)).astype("float32")
y = (np.sin(x @ rng.normal(size=(12,))) + 0.5 * x[:, 2]).astype("float32")

model = keras.Sequential([
    keras.Input(shape=(12,)),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(1),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=5.0), loss="mse")
model.fit(x, y, batch_size=32, epochs=5, verbose=2)
