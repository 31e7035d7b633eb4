# seed 000: "tf.keras loss becomes NaN" - the asker's script in Keras 3, bug kept.
# The page read MNIST from CSV with pandas (train.loc['1':'5000'], label + '1x1'..'28x28');
# here the same layout is read with numpy from mnist_small.csv (a 1000-row MNIST stand-in made
# by recipes/_data/make_data.py). Bugs kept: raw 0..255 pixels, linear first layer,
# sigmoid output under categorical cross-entropy, plain SGD.
# The page's rate was 1e-4. On this smaller stand-in the knife edge sits a little higher:
# `nanfix sweep train.py --lr 1e-4,2e-4,3e-4,5e-4,7e-4,1e-3 --seeds 6` (README.md) shows
# 1e-4 learning slowly in every seed, 2e-4 learning in half the seeds and stuck at
# loss 2.30 = ln(10) in the others, 3e-4 stuck in nearly all, 7e-4 and up going non-finite.
# 3e-4 reproduces the page's "loss 2.3025, accuracy 0.0986" in a 300-step probe.
import csv
import os

import keras
import numpy as np
from keras import layers

batch_size = 32
epochs = 10
alpha = 0.0003  # page: 0.0001 (see above)
lambda_ = 0
h1 = 50

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "mnist_small.csv"), newline="") as f:
    rows = csv.reader(f)
    columns = next(rows)
    table = np.array([[int(v) for v in row] for row in rows])

train = table[:800]
test = table[800:]

# train.sample(frac=1) - shuffled, unseeded, as on the page
train = train[np.random.permutation(len(train))]
test = test[np.random.permutation(len(test))]

first, last = columns.index("1x1"), columns.index("28x28")
x_train = train[:, first : last + 1]
y_train = train[:, columns.index("label")]

x_test = test[:, first : last + 1]
y_test = test[:, columns.index("label")]

nb_classes = 10
targets = y_train.reshape(-1)
y_train_onehot = np.eye(nb_classes)[targets]

nb_classes = 10
targets = y_test.reshape(-1)
y_test_onehot = np.eye(nb_classes)[targets]

model = keras.Sequential()
model.add(keras.Input(shape=(784,)))
model.add(layers.Dense(784))
model.add(layers.Dense(h1, activation="relu", kernel_regularizer=keras.regularizers.l2(lambda_)))
model.add(layers.Dense(10, activation="sigmoid", kernel_regularizer=keras.regularizers.l2(lambda_)))

# the page: tf.train.GradientDescentOptimizer(alpha)
model.compile(optimizer=keras.optimizers.SGD(learning_rate=alpha),
              loss="categorical_crossentropy",
              metrics=["accuracy"])

model.fit(x_train, y_train_onehot, epochs=epochs, batch_size=batch_size)
