"""The mid-size CNN of issue 12: a digit CNN (two 5x5 convolutions, 32 and 64 filters, Dense
256), batch 50, 5 epochs of 1,500 digits (150 steps). Its bug: raw 0..255 pixels into SGD at
0.01, which sends the loss to NaN within the first epoch."""
import os
import sys

import keras

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "recipes", "_data"))
from make_data import load_mnist_like  # noqa: E402

(x_train, y_train), (x_test, y_test) = load_mnist_like()
x_train = x_train.reshape(-1, 28, 28, 1).astype("float32")  # not divided by 255
x_test = x_test.reshape(-1, 28, 28, 1).astype("float32")

model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    keras.layers.Conv2D(32, 5, padding="same", activation="relu"),
    keras.layers.MaxPooling2D(),
    keras.layers.Conv2D(64, 5, padding="same", activation="relu"),
    keras.layers.MaxPooling2D(),
    keras.layers.Flatten(),
    keras.layers.Dense(256, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=50, epochs=5, validation_data=(x_test, y_test))
