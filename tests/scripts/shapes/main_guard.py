"""Everything inside main(), run under `if __name__ == "__main__":`."""
import keras
from _blobs import blobs


def main():
    x, labels = blobs()
    model = keras.Sequential([keras.Input(shape=(20,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    model.fit(x, labels, batch_size=32, epochs=5)


if __name__ == "__main__":
    main()
