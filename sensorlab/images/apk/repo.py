"""Repositories (HTTP(S) URL or local directory) and the package cache.

Layout as Alpine's mirrors: ``<repo>/<arch>/APKINDEX.tar.gz`` and
``<repo>/<arch>/<name>-<version>.apk``. Packages are cached by checksum
(``<cache>/apk/<sha1 hex>.apk``); a cached file is re-verified on every use,
so a corrupted or swapped cache entry fails like a bad download.
"""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sensorlab import log
from sensorlab.images.apk.archive import q1_hex
from sensorlab.images.apk.errors import FetchError
from sensorlab.images.apk.index import INDEX_NAME

DEFAULT_MAX_DOWNLOAD = 512 << 20


@dataclass(frozen=True)
class Repository:
    """``name`` is what the lock and SBOM record; ``url`` may move without
    invalidating the lock, since checksums pin the content."""

    name: str
    url: str  # https://..., http://..., file:///dir or a plain directory path
    vendor: str = "alpine"  # purl namespace: pkg:apk/<vendor>/<name>@<version>

    @property
    def remote(self) -> bool:
        return self.url.startswith(("http://", "https://"))

    def location(self, arch: str, filename: str) -> str:
        if self.remote:
            return f"{self.url.rstrip('/')}/{arch}/{filename}"
        base = self.url.removeprefix("file://")
        return str(Path(base) / arch / filename)


def package_filename(name: str, version: str) -> str:
    return f"{name}-{version}.apk"


def read_location(location: str, limit: int = DEFAULT_MAX_DOWNLOAD,
                  timeout: float = 60.0) -> bytes:
    """Bytes of a URL or local file, refusing more than ``limit`` bytes."""
    if location.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(location, timeout=timeout) as response:
                data: bytes = response.read(limit + 1)
        except (urllib.error.URLError, OSError) as exc:
            raise FetchError(f"cannot download {location}: {exc}",
                             hint="offline builds need a satisfied lockfile and a warm cache",
                             ) from exc
    else:
        try:
            with open(location, "rb") as handle:
                data = handle.read(limit + 1)
        except OSError as exc:
            raise FetchError(f"cannot read {location}: {exc.strerror}") from exc
    if len(data) > limit:
        raise FetchError(f"{location} is larger than {limit} bytes")
    return data


def fetch_index_bytes(repo: Repository, arch: str) -> bytes:
    return read_location(repo.location(arch, INDEX_NAME))


@dataclass(frozen=True)
class PackageCache:
    root: Path

    def path(self, checksum: str) -> Path:
        return self.root / "apk" / f"{q1_hex(checksum)}.apk"

    def get(self, checksum: str) -> bytes | None:
        path = self.path(checksum)
        return path.read_bytes() if path.is_file() else None

    def put(self, checksum: str, blob: bytes) -> None:
        path = self.path(checksum)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)

    def drop(self, checksum: str, why: str) -> None:
        log.warn(f"dropping cached {self.path(checksum).name}: {why}")
        self.path(checksum).unlink(missing_ok=True)
