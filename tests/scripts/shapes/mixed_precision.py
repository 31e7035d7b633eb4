"""Mixed precision: float16 compute, a float32 softmax, loss scaling by Keras."""
import keras
from _blobs import blobs

keras.mixed_precision.set_global_policy("mixed_float16")
x, labels = blobs()
model = keras.Sequential([keras.Input(shape=(20,)), keras.layers.Dense(32, activation="relu"),
                          keras.layers.Dense(3),
                          keras.layers.Activation("softmax", dtype="float32")])
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
model.fit(x, labels, batch_size=32, epochs=5)
