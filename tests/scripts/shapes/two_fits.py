"""Two fit calls: a short warm-up, then the real training with another rate. nanfix probes
the first (the one the script reaches first), and says so."""
import keras
from _blobs import blobs

x, labels = blobs()
model = keras.Sequential([keras.Input(shape=(20,)), keras.layers.Dense(32, activation="relu"),
                          keras.layers.Dense(3, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
model.fit(x, labels, batch_size=32, epochs=1)
model.optimizer.learning_rate.assign(1e-3)
model.fit(x, labels, batch_size=32, epochs=4)
