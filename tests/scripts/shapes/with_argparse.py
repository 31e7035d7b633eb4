"""Settings from the command line (argparse): the rate and batch size nanfix must probe."""
import argparse

import keras
from _blobs import blobs

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, required=True)
parser.add_argument("--batch-size", type=int, default=32)
args = parser.parse_args()

x, labels = blobs()
model = keras.Sequential([keras.Input(shape=(20,)), keras.layers.Dense(32, activation="relu"),
                          keras.layers.Dense(3, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adam(args.lr), loss="sparse_categorical_crossentropy")
model.fit(x, labels, batch_size=args.batch_size, epochs=5)
