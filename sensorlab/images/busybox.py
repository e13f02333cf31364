"""Busybox facts the image builders need."""

from __future__ import annotations

from pathlib import Path

from sensorlab.run import run


def applet_paths(busybox: Path) -> list[str]:
    """Paths busybox installs its applets at, e.g. ``usr/bin/awk``."""
    listing = run([busybox, "--list-full"]).stdout
    return sorted(line.strip() for line in listing.splitlines() if line.strip())
