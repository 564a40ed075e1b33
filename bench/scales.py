"""The bench's scales: the demo's process with volumes multiplied (pipeline/demo/stream.py).

Calibrated on seed 20261101: volume 1 gives ~5 560 deals and ~13 400 prospect calls;
each missed call is one row, each unreached number 1–3 (mean 2).
"""

from __future__ import annotations

from pipeline.demo.stream import ScaleSpec

SCALES = {
    # ~85 k call rows, ~5.6 k deals: CI-friendly (the whole bench well under 2 minutes).
    "small": ScaleSpec("small", volume=1.0, missed_per_month=1_000, unreached_per_month=1_000),
    # ~1 M call rows, ~100 k deals.
    "medium": ScaleSpec(
        "medium", volume=18.0, missed_per_month=10_000, unreached_per_month=10_800, managers=60
    ),
    # A 100-seat call centre over two years: ~10 M call rows, ~1 M deals, 200 managers.
    "full": ScaleSpec(
        "full", volume=180.0, missed_per_month=100_000, unreached_per_month=108_000, managers=200
    ),
}
