"""Retention: which files of an instrument's volume a sweep deletes. Pure.

The platform lists the volume (path, mtime, size); this decides. A file goes
when its mtime is older than ``now - retention_seconds``; directories stay
(instruments manage their own layout), and so does everything newer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One file on a volume, relative to its root."""

    path: str
    mtime: float
    size: int


@dataclass(frozen=True)
class SweepPlan:
    instrument: str
    cutoff: float  # files with mtime strictly before this are removed
    remove: tuple[Entry, ...]
    kept: int

    @property
    def removed_bytes(self) -> int:
        return sum(entry.size for entry in self.remove)

    def report(self) -> dict[str, object]:
        """What the sweep prints: JSON-ready, sorted, with the policy it applied."""
        return {
            "cutoff": self.cutoff,
            "removed": [{"path": e.path, "mtime": e.mtime, "size": e.size} for e in self.remove],
            "removed_bytes": self.removed_bytes,
            "kept": self.kept,
        }


def plan_sweep(instrument: str, entries: Iterable[Entry], now: float,
               retention_seconds: int) -> SweepPlan:
    if retention_seconds <= 0:
        raise ValueError(f"instrument {instrument}: retention must be positive, "
                         f"got {retention_seconds}")
    cutoff = now - retention_seconds
    ordered = sorted(entries, key=lambda entry: entry.path)
    old = tuple(entry for entry in ordered if entry.mtime < cutoff)
    return SweepPlan(instrument=instrument, cutoff=cutoff, remove=old,
                     kept=len(ordered) - len(old))
