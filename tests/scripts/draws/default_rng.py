"""Blobs drawn with an unseeded np.random.default_rng(): a new draw on every plain run."""
import keras
import numpy as np

rng = np.random.default_rng()
labels = rng.integers(0, 3, 300)
x_train = (np.eye(3)[labels] * 4 + rng.normal(0, 1, (300, 3))).astype("float32")
y_train = keras.utils.to_categorical(labels, 3)

model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(3, activation="softmax")])
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=10, verbose=0)
