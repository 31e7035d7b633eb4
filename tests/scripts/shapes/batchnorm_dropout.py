"""BatchNormalization and Dropout: different in training and in inference."""
import keras
from _blobs import blobs

x, labels = blobs()
model = keras.Sequential([
    keras.Input(shape=(20,)),
    keras.layers.Dense(64), keras.layers.BatchNormalization(), keras.layers.Activation("relu"),
    keras.layers.Dropout(0.3),
    keras.layers.Dense(3, activation="softmax"),
])
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
model.fit(x, labels, batch_size=32, epochs=5, validation_split=0.2)
