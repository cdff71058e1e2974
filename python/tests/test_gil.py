"""The GIL is released while the engine works: a Python thread keeps running during a call."""

from __future__ import annotations

import threading
import time

import numpy as np

import upscale
from conftest import photo


def test_a_python_thread_runs_while_a_picture_is_upscaled() -> None:
    a = np.asarray(np.tile(photo(100, 66), (2, 2, 1)))
    engine = upscale.Engine(scale=4)  # the picture default: a few seconds for this picture
    ticks = []
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    try:
        time.sleep(0.05)
        t0 = time.perf_counter()
        out = engine.upscale(a)
        t1 = time.perf_counter()
    finally:
        stop.set()
        t.join()
    assert out.shape == (132 * 4, 200 * 4, 3)
    # Ticks well inside the call (its first and last tenth left out): with the GIL held there
    # would be none, the thread could not run a line.
    margin = (t1 - t0) / 10
    inside = [x for x in ticks if t0 + margin < x < t1 - margin]
    assert t1 - t0 > 0.05, "the call was too short to tell"
    assert len(inside) >= 10, (len(inside), t1 - t0)
