# "Fitting a regression on 10 standardised features; after 5 epochs the MSE has barely
# moved (well under 1%). Is my model too small?"  Tabular regression, one hidden layer, plain SGD.
# BUG: SGD(learning_rate=1e-5) is ~1000x too small; the loss falls far too slowly to be useful.
import keras
import numpy as np

rng = np.random.default_rng(5)
x = rng.normal(size=(1500, 10)).astype("float32")
y = 0.5 * (x @ rng.normal(size=(10,))) + np.sin(2 * x[:, 0])
y = ((y - y.mean()) / y.std()).astype("float32")

model = keras.Sequential([
    keras.Input(shape=(10,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(1),
])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e-5), loss="mse")
model.fit(x, y, batch_size=32, epochs=5, verbose=2)
