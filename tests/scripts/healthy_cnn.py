import keras
import numpy as np

rng = np.random.default_rng(0)
labels = rng.integers(0, 2, 800)
x = rng.normal(0, 0.1, (800, 12, 12, 1)).astype("float32")
x[labels == 0, 2:5, 2:10, 0] += 1.0   # a bar at the top
x[labels == 1, 7:10, 2:10, 0] += 1.0  # a bar at the bottom
model = keras.Sequential([
    keras.Input(shape=(12, 12, 1)),
    keras.layers.Conv2D(4, 3, activation="relu"),
    keras.layers.MaxPooling2D(),
    keras.layers.Flatten(),
    keras.layers.Dense(2, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, labels, batch_size=32, epochs=3)
