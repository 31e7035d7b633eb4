"""Two inputs (a dict, by input name), merged before the classifier."""
import keras
from _blobs import blobs

x, labels = blobs()
left, right = keras.Input(shape=(12,), name="left"), keras.Input(shape=(8,), name="right")
merged = keras.layers.Concatenate()([keras.layers.Dense(16, activation="relu")(left),
                                     keras.layers.Dense(16, activation="relu")(right)])
outputs = keras.layers.Dense(3, activation="softmax")(merged)
model = keras.Model([left, right], outputs)
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
model.fit({"left": x[:, :12], "right": x[:, 12:]}, labels, batch_size=32, epochs=5)
