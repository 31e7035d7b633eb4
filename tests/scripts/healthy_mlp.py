import keras
import numpy as np
from _blobs import blobs

x, labels = blobs()
y = keras.utils.to_categorical(labels, 3)
model = keras.Sequential([
    keras.Input(shape=(20,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(3, activation="softmax"),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-2), loss="categorical_crossentropy",
              metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=5, validation_split=0.2)
