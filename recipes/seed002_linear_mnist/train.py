# seed 002: "Simple Keras neural network does not learn" - the asker's script in Keras 3, bug kept.
# A 784-30-10 network after chapter 1 of "Neural Networks and Deep Learning", but with no
# activation on either Dense layer (both linear), N(0, 1) weights and biases, MSE loss and
# SGD at 3.0 with batch 10. keras.datasets.mnist is replaced by an offline stand-in with the same
# shapes and value range (scikit-learn's digits resampled to 28x28, 0..255).
import os
import sys

import keras
from keras.initializers import RandomNormal
from keras.layers import Dense
from keras.models import Sequential
from keras.optimizers import SGD

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "_data"))
from make_data import load_mnist_like  # noqa: E402  (instead of keras.datasets.mnist)

# import data
(x_train, y_train), (x_test, y_test) = load_mnist_like()

# input image dimensions
img_rows, img_cols = 28, 28

x_train = x_train.reshape(x_train.shape[0], img_rows * img_cols)
x_test = x_test.reshape(x_test.shape[0], img_rows * img_cols)
input_shape = (img_rows * img_cols,)

x_train = x_train.astype("float32")
x_test = x_test.astype("float32")
x_train /= 255
x_test /= 255

print("x_train shape:", x_train.shape)
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")

# convert class vectors to binary class matrices
num_classes = 10
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)
print("y_train shape:", y_train.shape)

# Construct model
# 784 * 30 * 10
# Normal distribution for weights/biases
# Stochastic Gradient Descent optimizer
# Mean squared error loss (cost function)
model = Sequential()
model.add(keras.Input(shape=input_shape))
layer1 = Dense(30,
               kernel_initializer=RandomNormal(stddev=1),
               bias_initializer=RandomNormal(stddev=1))
model.add(layer1)
layer2 = Dense(10,
               kernel_initializer=RandomNormal(stddev=1),
               bias_initializer=RandomNormal(stddev=1))
model.add(layer2)

model.summary()

model.compile(optimizer=SGD(learning_rate=3.0),
              loss="mean_squared_error",
              metrics=["accuracy"])

# Train (the page ran 30 epochs of 60000; 10 epochs of the 1500-image stand-in show the same)
model.fit(x_train,
          y_train,
          batch_size=10,
          epochs=10,
          verbose=2)

# Run on test data and output results
result = model.evaluate(x_test,
                        y_test,
                        verbose=1)
print("Test loss: ", result[0])
print("Test accuracy: ", result[1])
