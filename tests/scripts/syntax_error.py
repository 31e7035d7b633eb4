import keras

model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1)]
model.compile(optimizer="adam", loss="mse")
