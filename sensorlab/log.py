"""Progress output for long steps: what is happening and how far along."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


def info(message: str) -> None:
    print(f"sensorlab: {message}", file=sys.stderr, flush=True)


def warn(message: str) -> None:
    print(f"sensorlab: warning: {message}", file=sys.stderr, flush=True)


@contextmanager
def step(what: str, index: int | None = None, total: int | None = None) -> Iterator[None]:
    """Print ``[i/n] what ...`` before a step and ``done in Xs`` after it."""
    prefix = f"[{index}/{total}] " if index is not None and total is not None else ""
    info(f"{prefix}{what} ...")
    started = time.monotonic()
    yield
    info(f"{prefix}{what}: done in {time.monotonic() - started:.1f}s")
