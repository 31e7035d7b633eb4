# seed 003: "Why does a CNN's loss fall for a long time and then suddenly rise?" - the asker's
# solid-vs-broken-line classifier in Keras 3. Same layout as the page: ReLU on the input, two
# 16x16 convolutions without activation, max pooling, Dense(2) + softmax, binary cross-entropy,
# Adam at 1e-5 with its default epsilon, a Python generator of ([image], [1, 0] | [0, 1]) batches.
# Scaled down to run on a CPU: 4 and 8 filters instead of 64 and 128, 4096 generated images
# instead of 250,000+, batch 32 instead of 256, channels_last, 20 epochs instead of 4680.
# The page's loss jumped after ~1500 epochs (about a million Adam steps); see README.md for what
# a short run does and does not show.
import os
import random
import sys

import keras
import numpy
from keras import layers

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "_data"))
from make_data import lines32  # noqa: E402  (32x32 images of solid / broken lines)

input_shape = (32, 32, 1)
kernel_shape = (16, 16)
n_filters = 4

input_layer = keras.Input(input_shape)
active_1 = layers.Activation("relu")(input_layer)
conv_1 = layers.Conv2D(n_filters, kernel_shape)(active_1)
conv_2 = layers.Conv2D(2 * n_filters, kernel_shape)(conv_1)
pool_1 = layers.MaxPooling2D()(conv_2)

p = 1
for d in pool_1.shape[1:]:
    p *= d

shaped_1 = layers.Reshape((p,))(pool_1)
dense_1 = layers.Dense(2)(shaped_1)
out = layers.Activation("softmax")(dense_1)
model = keras.Model(input_layer, out)

images, labels = lines32(4096, seed=0)
full = [img[..., None] for img, lab in zip(images, labels) if lab == 0]
broken = [img[..., None] for img, lab in zip(images, labels) if lab == 1]


def getDataGenerator(solid, broken, batch_size=128):
    zed = [(chunk, [1, 0]) for chunk in solid] + [(chunk, [0, 1]) for chunk in broken]
    random.shuffle(zed)
    xbatch = []
    ybatch = []
    while True:
        for i in range(len(zed)):
            x, y = zed[i]
            xbatch.append(x)
            ybatch.append(y)
            if len(xbatch) == batch_size:
                yield numpy.array(xbatch, dtype="float32"), numpy.array(ybatch, dtype="float32")
                xbatch = []
                ybatch = []


n = len(full) - 256
n2 = len(broken) - 256

random.shuffle(full)
random.shuffle(broken)

optimizer = keras.optimizers.Adam(0.00001)
loss_function = keras.losses.binary_crossentropy
model.compile(optimizer=optimizer, loss=loss_function, metrics=["accuracy"])
batch_size = 32
steps = n // batch_size + n2 // batch_size
model.fit(getDataGenerator(full[:n], broken[:n2], batch_size),
          steps_per_epoch=steps,
          epochs=20,
          validation_data=getDataGenerator(full[n:], broken[n2:], batch_size),
          validation_steps=512 // batch_size)
