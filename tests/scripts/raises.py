import keras

model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(lr=0.1), loss="mse")
data = load_my_data()  # noqa: F821 - the bug: a name that does not exist
