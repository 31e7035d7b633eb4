# seed 001, second half: the page's "fake fix". The NaN script of recipes/seed001_log_loss with
# the log's argument clipped to [1e-8, max(y)], as the page did:
#     loss = tf.log(tf.clip_by_value(y, 1e-8, tf.reduce_max(y)))
# No more NaN, and the loss value keeps moving - but clip has zero gradient wherever it clips,
# so every sample whose true-class probability fell below 1e-8 teaches the network nothing, and
# the model stays at chance ("the loss keeps changing, but the result barely changes").
import os
import sys

import keras

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "_data"))
from make_data import load_mnist_like  # noqa: E402  (offline stand-in for MNIST)

(x_train, y_train), (x_test, y_test) = load_mnist_like()
x_train = x_train.reshape(-1, 784).astype("float32") / 255
x_test = x_test.reshape(-1, 784).astype("float32") / 255
y_train = keras.utils.to_categorical(y_train, 10)
y_test = keras.utils.to_categorical(y_test, 10)


def cross_entropy(y_true, y_pred):
    # the page's "fix": tf.log(tf.clip_by_value(y, 1e-8, tf.reduce_max(y)))
    y_pred = keras.ops.clip(y_pred, 1e-8, keras.ops.max(y_pred))
    return -keras.ops.sum(y_true * keras.ops.log(y_pred))


model = keras.Sequential([
    keras.Input(shape=(784,)),
    keras.layers.Dense(100, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.02),
              loss=cross_entropy,
              metrics=["accuracy"])

model.fit(x_train, y_train, batch_size=100, epochs=20, validation_data=(x_test, y_test))
