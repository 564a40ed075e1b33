"""Voronka: sales-funnel analytics pipeline."""

import os
import sys

# polars' allocator (its bundled jemalloc) gives freed memory back to the kernel half a
# second after it is freed (polars' own setting, dirty_decay_ms:500 then muzzy_decay_ms:1000),
# and ingest frees and asks again for ~1 GB every batch, so the kernel faults in and zeroes
# those pages again and again: 9.1 M page faults and 20 s of system time in the full-scale
# history ingest. Kept 10 s and then given back at once (muzzy_decay_ms:0: no lazily freed
# pages left counted in RSS), 5.5 M faults and 12.8 s, peak RSS 1.85 → 1.97 GB. jemalloc
# reads it once, when polars is first imported (polars appends it to its own setting, and
# the later key wins): so here, before any module imports polars; a value the environment
# already sets is left alone.
ALLOCATOR_ENV = "_RJEM_MALLOC_CONF"
ALLOCATOR_CONF = "dirty_decay_ms:10000,muzzy_decay_ms:0"
if "polars" not in sys.modules:
    os.environ.setdefault(ALLOCATOR_ENV, ALLOCATOR_CONF)
