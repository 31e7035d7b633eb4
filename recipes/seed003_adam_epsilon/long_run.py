# seed 003, brought forward: the page's network, loss, generator and fit, with the settings
# that compress its late jump (about a million Adam steps) into about 600 steps on a CPU
# (recipes/_data/adam_study/FINDINGS.md): the first 128 images only, so the loss can fall
# to ~1e-9; Adam(1e-2, beta_2=0.95, epsilon=1e-10), so v forgets in ~20 steps instead of
# ~1000 and epsilon is below TF1's 1e-8; 500 epochs of 3 steps.
# It trains with nanfix's flight recorder, as a user whose run takes hours would:
#   python recipes/seed003_adam_epsilon/long_run.py [--record DIR] [--seed N]
#   nanfix probe recipes/seed003_adam_epsilon/long_run.py --from DIR
import argparse
import os
import random
import sys

import keras
import numpy
from keras import layers

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "_data"))
from make_data import lines32  # noqa: E402  (32x32 images of solid / broken lines)

from nanfix.keras import NanGuard  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--record", default="seed003_flight_record")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--epochs", type=int, default=500)
args = parser.parse_args()
keras.utils.set_random_seed(args.seed)

input_layer = keras.Input((32, 32, 1))
active_1 = layers.Activation("relu")(input_layer)
conv_1 = layers.Conv2D(4, (16, 16))(active_1)
conv_2 = layers.Conv2D(8, (16, 16))(conv_1)
pool_1 = layers.MaxPooling2D()(conv_2)
p = 1
for d in pool_1.shape[1:]:
    p *= d
shaped_1 = layers.Reshape((p,))(pool_1)
dense_1 = layers.Dense(2)(shaped_1)
out = layers.Activation("softmax")(dense_1)
model = keras.Model(input_layer, out)

images, labels = lines32(640, seed=0)
full = [img[..., None] for img, lab in zip(images[:128], labels[:128]) if lab == 0]
broken = [img[..., None] for img, lab in zip(images[:128], labels[:128]) if lab == 1]


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


random.shuffle(full)
random.shuffle(broken)
optimizer = keras.optimizers.Adam(1e-2, beta_2=0.95, epsilon=1e-10)
model.compile(optimizer=optimizer, loss=keras.losses.binary_crossentropy, metrics=["accuracy"])
batch_size = 32
steps = len(full) // batch_size + len(broken) // batch_size
model.fit(getDataGenerator(full, broken, batch_size), steps_per_epoch=steps, epochs=args.epochs,
          verbose=0, callbacks=[NanGuard(record=args.record)])
