"""Ten classes 0..9 under a softmax over ten units, but three of 1,800 labels are stray
(a 10 and two 11s from a bad join): the sparse loss reads outside its row. Dropping those
three rows repairs the data without changing the task."""
import keras
import numpy as np

rng = np.random.default_rng(0)
n = 1800
centers = rng.normal(0, 2, size=(10, 16))
y = rng.integers(0, 10, n)
x = (centers[y] + rng.normal(0, 1, size=(n, 16))).astype("float32")
y[[5, 700, 1500]] = [10, 11, 11]
x_train, y_train = x, y

model = keras.Sequential([
    keras.Input(shape=(16,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=4)
