"""A tf.data pipeline that repeats forever, bounded by steps_per_epoch."""
import keras
import tensorflow as tf
from _blobs import blobs

x, labels = blobs()
dataset = tf.data.Dataset.from_tensor_slices((x, labels)).shuffle(1200).batch(32).repeat()
model = keras.Sequential([keras.Input(shape=(20,)), keras.layers.Dense(32, activation="relu"),
                          keras.layers.Dense(3, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
model.fit(dataset, steps_per_epoch=30, epochs=4)
