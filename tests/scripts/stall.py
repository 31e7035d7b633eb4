"""Softmax on a single output unit: always 1.0, the loss is calm and nothing is learned."""
import keras
from _blobs import blobs

x, labels = blobs(classes=2)
model = keras.Sequential([
    keras.Input(shape=(20,)),
    keras.layers.Dense(16, activation="relu"),
    keras.layers.Dense(1, activation="softmax"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x, labels.astype("float32"), batch_size=32, epochs=5)
