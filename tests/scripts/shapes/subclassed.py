"""A subclassed model: layers made in __init__, the forward pass in call()."""
import keras
from _blobs import blobs


class Net(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = keras.layers.Dense(32, activation="relu")
        self.out = keras.layers.Dense(3, activation="softmax")

    def call(self, x):
        return self.out(self.hidden(x))


x, labels = blobs()
model = Net()
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
model.fit(x, labels, batch_size=32, epochs=5)
