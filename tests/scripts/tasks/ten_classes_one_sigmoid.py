"""Digits-like data with integer labels 0..9 and a model ending in one sigmoid unit under
binary_crossentropy (a Q&A page's fault): the head cannot tell ten classes apart."""
import keras
import numpy as np

rng = np.random.default_rng(0)
n = 1500
prototypes = rng.uniform(0, 1, size=(10, 64))
y = rng.integers(0, 10, n)
x = np.clip(prototypes[y] + rng.normal(0, 0.25, size=(n, 64)), 0, 1).astype("float32")
x_train, y_train, x_test, y_test = x[:1200], y[:1200], x[1200:], y[1200:]

model = keras.Sequential([
    keras.Input(shape=(64,)),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=5, validation_data=(x_test, y_test))
