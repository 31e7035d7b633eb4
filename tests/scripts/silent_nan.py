"""BatchNormalization whose moving variance starts as NaN: training loss looks fine."""
import keras
from _blobs import blobs

x, labels = blobs()
y = keras.utils.to_categorical(labels, 3)
model = keras.Sequential([
    keras.Input(shape=(20,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.BatchNormalization(moving_variance_initializer=keras.initializers.Constant(float("nan"))),
    keras.layers.Dense(3, activation="softmax"),
])
model.compile(optimizer="adam", loss="categorical_crossentropy")
model.fit(x, y, batch_size=32, epochs=5)
