"""Explicit entry with a learning rate far too large: SGD at 30 on separable blobs."""
import keras
from _blobs import blobs


def build_model():
    model = keras.Sequential([keras.Input(shape=(20,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=30.0),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def load_data():
    x, labels = blobs(scale=3.0)
    return x, labels
