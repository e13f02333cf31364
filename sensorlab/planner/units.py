"""Sizes and periods as people write them: ``512MiB``, ``2G``, ``30d``, ``1d12h``."""

from __future__ import annotations

import re

_SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2,
    "g": 1000**3, "gb": 1000**3, "t": 1000**4, "tb": 1000**4,
    "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}  # fmt: skip
_SIZE = re.compile(r"^\s*(\d{1,15})\s*([a-zA-Z]{0,3})\s*$")
_PERIOD_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PERIOD_PART = re.compile(r"(\d{1,9})([smhdw])")
# Caps that keep every number well inside what LXD, tmpfs and nft accept.
MAX_SIZE = 1 << 50
MAX_PERIOD = 100 * 365 * 86400


def parse_size(text: str) -> int:
    """Bytes in ``text``; ValueError with a readable reason otherwise."""
    match = _SIZE.match(text)
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _SIZE_UNITS:
        raise ValueError(f"{text!r} is not a size (e.g. 512MiB, 2GiB, 1G)")
    value = int(match.group(1)) * _SIZE_UNITS[unit]
    if not 0 < value <= MAX_SIZE:
        raise ValueError(f"{text!r} is out of range (1 byte to 1PiB)")
    return value


def parse_period(text: str) -> int:
    """Seconds in ``text`` such as ``30d``, ``12h`` or ``1w2d``."""
    compact = text.strip().lower().replace(" ", "")
    parts = _PERIOD_PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"{text!r} is not a period (e.g. 30d, 12h, 1w2d)")
    value = sum(int(n) * _PERIOD_UNITS[u] for n, u in parts)
    if not 0 < value <= MAX_PERIOD:
        raise ValueError(f"{text!r} is out of range (1s to 100 years)")
    return value


def format_size(value: int) -> str:
    """The exact size in the largest binary unit that divides it (LXD syntax)."""
    for unit, factor in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value % factor == 0:
            return f"{value // factor}{unit}"
    return f"{value}B"


def format_period(value: int) -> str:
    for unit, factor in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if value % factor == 0:
            return f"{value // factor}{unit}"
    return f"{value}s"
