"""Where the repository keeps its inputs and build outputs."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "sensorlab"
APPLIANCE_RECIPE = REPO / "platform" / "appliance"
INSTRUMENTS = REPO / "instruments"
SENSORS = REPO / "sensors"
DEFAULT_SENSOR = SENSORS / "lab.yaml"
BUILD = REPO / "build"
IMAGES = BUILD / "images"
CACHE = BUILD / "cache"
REPORTS = BUILD / "reports"
STATE = BUILD / "state"
KEYS = BUILD / "keys"  # the project signing key (inv keygen); never committed
LAB_REPO = BUILD / "repo"
PAYLOADS = BUILD / "payloads"
LOCKS = REPO / "images" / "locks"  # committed: what every image is pinned to
