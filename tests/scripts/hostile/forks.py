"""Before fit, the script forks, starts a child process and a non-daemon thread, all of which
would outlive it; nanfix must still report and leave nothing running."""
import os
import subprocess
import sys
import threading
import time

import keras
import numpy as np

child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
with open(os.environ.get("HOSTILE_PIDS", "pids.txt"), "w") as handle:
    handle.write(f"{child.pid}\n")
threading.Thread(target=time.sleep, args=(600,)).start()  # not a daemon
if os.fork() == 0:
    time.sleep(600)  # a fork that never returns on its own

rng = np.random.default_rng(0)
x = rng.normal(size=(256, 4)).astype("float32")
y = (x[:, 0] > 0).astype("float32")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x, y, epochs=2, verbose=0)
