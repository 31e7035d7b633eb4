"""Class ids 1..10 for a 10-unit output: id 10 has no output unit."""
import keras
from _blobs import blobs

x, labels = blobs(classes=10)
model = keras.Sequential([keras.Input(shape=(20,)), keras.layers.Dense(32, activation="relu"),
                          keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.fit(x, labels + 1, batch_size=32, epochs=5)
