# seed 001: "Analysis of NaN errors in TensorFlow training" - a hand-written cross-entropy with a
# raw log on a softmax output, written the way the old TensorFlow MNIST tutorial the page points
# at wrote it: cross_entropy = -tf.reduce_sum(y_ * tf.log(y)), summed over the whole batch.
# A 784-100-10 MLP on an offline MNIST stand-in; SGD on the batch-summed loss takes steps 100x
# larger than on a batch mean, the logits jump by hundreds, softmax rounds some probabilities to
# exactly 0 in float32, and log(0) = -inf turns the loss and every gradient into NaN.
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
    # the page: loss = tf.log(y) with y a softmax output - nothing keeps y away from 0
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
