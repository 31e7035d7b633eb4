import numpy as np

hoard = []
while True:
    hoard.append(np.ones(50_000_000))  # 400 MB a step, until the limit stops us
