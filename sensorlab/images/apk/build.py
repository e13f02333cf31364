"""Make signed packages and repositories (the melange and ``apk index`` idea).

Instrument payloads become ``.apk`` packages signed with the project key, so
the image builder treats them exactly like packages from Alpine.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from sensorlab.images.apk.errors import ApkError
from sensorlab.images.apk.index import INDEX_NAME, build_index
from sensorlab.images.apk.keys import SigningKey
from sensorlab.images.apk.package import DataEntry, build_apk, read_apk
from sensorlab.images.apk.pkginfo import PackageInfo
from sensorlab.images.apk.repo import package_filename
from sensorlab.images.tarball import source_date_epoch

BIN_DIRS = ("bin", "sbin", "usr/bin", "usr/sbin")


def entries_from_dir(root: Path) -> list[DataEntry]:
    """A payload tree as package entries, owned by root.

    Modes become 0755/0644 from the executable bit alone (git keeps nothing
    else, and the checkout's umask must not reach the package); setuid bits
    are never taken from a checkout.
    """
    if not root.is_dir():
        raise ApkError(f"payload directory {root} does not exist")
    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(dirpath)
        for name in sorted(dirnames + filenames):
            path = base / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                entries.append(DataEntry(rel, "symlink", 0o777, linkname=os.readlink(path)))
            elif path.is_dir():
                entries.append(DataEntry(rel, "dir", 0o755))
            elif path.is_file():
                mode = 0o755 if os.access(path, os.X_OK) else 0o644
                entries.append(DataEntry(rel, "file", mode, data=path.read_bytes()))
            else:
                raise ApkError(f"payload {root}: {rel} is not a file, directory or symlink")
    return sorted(entries, key=lambda e: e.path)


def command_provides(entries: Sequence[DataEntry], version: str) -> tuple[str, ...]:
    """``cmd:<name>=<version>`` for executables in bin directories, as abuild adds."""
    out = []
    for entry in entries:
        parent, _, name = entry.path.rpartition("/")
        if parent in BIN_DIRS and entry.kind in ("file", "symlink") and entry.mode & 0o111:
            out.append(f"cmd:{name}={version}")
    return tuple(sorted(out))


def build_package(payload_dir: Path, meta: PackageInfo, key: SigningKey,
                  mtime: int | None = None) -> bytes:
    """A signed package of ``payload_dir``; same tree, key and epoch give the same bytes."""
    entries = entries_from_dir(payload_dir)
    provides = tuple(sorted(set(meta.provides) | set(command_provides(entries, meta.version))))
    return build_apk(replace(meta, provides=provides), entries, key,
                     mtime=source_date_epoch() if mtime is None else mtime)


def write_repository(repo_dir: Path, packages: Sequence[bytes], key: SigningKey, *,
                     arch: str = "x86_64", description: str = "sensorlab repository",
                     mtime: int | None = None) -> Path:
    """Write packages and a signed APKINDEX.tar.gz under ``repo_dir/<arch>/``."""
    stamp = source_date_epoch() if mtime is None else mtime
    arch_dir = repo_dir / arch
    arch_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for blob in packages:
        apk = read_apk(blob, "new package")
        (arch_dir / package_filename(apk.info.name, apk.info.version)).write_bytes(blob)
        entries.append(replace(apk.info, datahash=""))
    index = build_index(entries, key, description=description, mtime=stamp)
    (arch_dir / INDEX_NAME).write_bytes(index)
    return arch_dir
