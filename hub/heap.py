"""The garbage collector, tuned for a long-running hub once it has started.

Ingest allocates many short-lived objects (parsed bodies, validated events, rows);
with CPython's default threshold of 700 allocations the young generations are
collected every few events, and each collection of an older generation walks the
whole start-up heap (templates, routes, the calendar) again. Measured on a batch
of 1000 events (docs/benchmarks.md, issue 18): validation took 16.5 ms with the
defaults, 9.7 ms with the collector off, 9.7 ms after :func:`settle`.
"""

from __future__ import annotations

import gc

#: Allocations between collections of the youngest generation (CPython's default: 700).
YOUNG_THRESHOLD = 10_000


def settle() -> None:
    """Move what start-up built out of the collector's way and collect less often.

    Called once the process serves: :func:`gc.freeze` keeps the start-up objects
    out of every later collection (they live as long as the process anyway).
    Reference cycles made later are still collected, only in larger steps.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
