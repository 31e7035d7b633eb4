# "Predicting yearly salaries from 8 standardised HR features. I already lowered the learning
# rate to 3e-4 and the loss is still ~1e27 or nan in the first epoch."  SGD with momentum 0.9, MSE.
# BUG: the targets are raw salaries (~30k..110k); with MSE the gradients scale with the target,
# so no sane rate works. Standardise y.
import keras
import numpy as np

rng = np.random.default_rng(10)
n = 1500
x = rng.normal(size=(n, 8)).astype("float32")
salary = 65000 + 12000 * np.tanh(x @ rng.normal(size=(8,)) / 2) + 6000 * x[:, 3] * (x[:, 4] > 0)
y = salary.astype("float32")

model = keras.Sequential([
    keras.Input(shape=(8,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(1),
])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=3e-4, momentum=0.9), loss="mse", metrics=["mae"])
model.fit(x, y, batch_size=32, epochs=5, verbose=2)
