"""Phantom rendering speed on one core (the X-ray issue asks for at least 50 images/s)."""

from __future__ import annotations

import cv2

from benchmarks.common import Row, median_time
from medinterp import phantoms


def run(smoke: bool = False, repeats: int = 5) -> list[Row]:
    count = 10 if smoke else 200
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # one core: no OpenCV worker threads
    try:
        seconds = median_time(lambda: phantoms.generate(count, seed=9), 1 if smoke else repeats)
    finally:
        cv2.setNumThreads(threads)
    rate = count / seconds
    return [
        Row(f"phantoms.generate({count}), one thread", seconds, None, ">= 50 images/s",
            rate >= 50, note=f"{rate:.0f} images/s")
    ]  # fmt: skip
