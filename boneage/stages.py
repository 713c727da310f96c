"""Wall time of each stage of one assessment, for the worker's log line and the benchmarks.

The stages (gate, preprocessing, segmentation, measurement, lookup, overlay, cnn) lie in several
modules; rather than thread a clock through every signature, :func:`timed_stages` opens a record
in a context variable and :func:`stage` adds to it when one is open, and costs one clock read
when none is (the CLI, the training code).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_record: ContextVar[dict[str, float] | None] = ContextVar("boneage_stage_seconds", default=None)


@contextmanager
def timed_stages() -> Iterator[dict[str, float]]:
    """Collect the seconds of every :func:`stage` run inside the block into the yielded dict."""
    seconds: dict[str, float] = {}
    token = _record.set(seconds)
    try:
        yield seconds
    finally:
        _record.reset(token)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the block as stage ``name`` (added up when a stage runs more than once)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds = _record.get()
        if seconds is not None:
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
