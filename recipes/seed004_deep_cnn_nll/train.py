# seed 004: "How to avoid Theano gradients going to NaN" - the asker's deep CNN redone in Keras 3,
# bug kept. 5 ReLU conv layers, 2 ReLU hidden layers, softmax, and the negative log-likelihood
# written out by hand as on the page:  -T.mean(T.log(p_y_given_x)[T.arange(y.shape[0]), y])
# trained with plain SGD (param - learning_rate * grad) on raw 0..255 pixel patches.
# The page used learning_rate=0.01 and saw NaN only in some runs; at 0.01 this stand-in also
# goes NaN only in some seeds, so the rate is 0.2 here to make it reproducible in a short probe.
import os
import sys

import keras
from keras import layers

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "_data"))
from make_data import load_mnist_like  # noqa: E402  (offline 28x28 digit images, 0..255)

(x_train, y_train), (x_test, y_test) = load_mnist_like()
x_train = x_train.reshape(-1, 28, 28, 1).astype("float32")  # raw intensities, not scaled
x_test = x_test.reshape(-1, 28, 28, 1).astype("float32")

learning_rate = 0.2
n_kerns = 6


def negative_log_likelihood(y, p_y_given_x):
    y = keras.ops.cast(keras.ops.reshape(y, (-1, 1)), "int32")
    return -keras.ops.mean(keras.ops.log(keras.ops.take_along_axis(p_y_given_x, y, axis=1)))


model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    layers.Conv2D(n_kerns, 3, padding="same", activation="relu"),       # cv0
    layers.Conv2D(n_kerns, 3, padding="same", activation="relu"),       # cv1
    layers.MaxPooling2D(),
    layers.Conv2D(2 * n_kerns, 3, padding="same", activation="relu"),   # cv2
    layers.Conv2D(2 * n_kerns, 3, padding="same", activation="relu"),   # cv3
    layers.MaxPooling2D(),
    layers.Conv2D(2 * n_kerns, 3, padding="same", activation="relu"),   # cv4
    layers.Flatten(),
    layers.Dense(64, activation="relu"),                                # hid1
    layers.Dense(32, activation="relu"),                                # hid2
    layers.Dense(10, activation="softmax"),                             # logistic softmax
])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
              loss=negative_log_likelihood,
              metrics=["accuracy"])

model.fit(x_train, y_train, batch_size=32, epochs=20, validation_data=(x_test, y_test))
