"""A model with its own train_step. With --negate it climbs the loss instead of descending
(a sign error in the update): a plain run ends with a large loss and chance accuracy."""
import sys

import keras
import tensorflow as tf
from _blobs import blobs

SIGN = -1.0 if "--negate" in sys.argv else 1.0


class Stepper(keras.Model):
    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(
            [(SIGN * g, v) for g, v in zip(grads, self.trainable_variables)])
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


x, labels = blobs()
inputs = keras.Input(shape=(20,))
hidden = keras.layers.Dense(32, activation="relu")(inputs)
outputs = keras.layers.Dense(3, activation="softmax")(hidden)
model = Stepper(inputs, outputs)
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
model.fit(x, labels, batch_size=32, epochs=5)
