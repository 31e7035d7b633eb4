"""An imbalanced binary task with class_weight and an EarlyStopping callback."""
import keras
import numpy as np

rng = np.random.default_rng(0)
x = rng.normal(size=(1500, 8)).astype("float32")
labels = (x[:, 0] + 0.5 * x[:, 1] > 1.2).astype("float32")  # about 14% positive
model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(16, activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy",
              metrics=["accuracy"])
model.fit(x, labels, batch_size=32, epochs=20, validation_split=0.2,
          class_weight={0: 1.0, 1: 6.0},
          callbacks=[keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True)])
