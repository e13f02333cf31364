"""The lockfile: every package of an image pinned by version, checksum and repository.

TOML, written in one fixed layout (packages sorted by name) so that a diff
of the lockfile is the list of what changed. ``request`` is what the recipe
asked for; when the recipe asks for something else the lock is stale, and
the build stops unless ``--update-lock`` is given.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sensorlab.images.apk.errors import FormatError, LockMismatchError

LOCK_VERSION = 1


@dataclass(frozen=True)
class LockedPackage:
    name: str
    version: str
    checksum: str  # Q1 checksum of the control segment, as APKINDEX's C:
    repository: str  # repository name in the recipe


@dataclass(frozen=True)
class Lock:
    request: tuple[str, ...]
    arch: str
    repositories: tuple[str, ...]
    packages: tuple[LockedPackage, ...]

    def package(self, name: str) -> LockedPackage | None:
        return next((p for p in self.packages if p.name == name), None)


def make_lock(request: Sequence[str], arch: str, repositories: Sequence[str],
              packages: Sequence[LockedPackage]) -> Lock:
    return Lock(tuple(sorted(set(request))), arch, tuple(repositories),
                tuple(sorted(packages, key=lambda p: p.name)))


def _q(value: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes.
    return json.dumps(value, ensure_ascii=True)


def _array(values: Sequence[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def render_lock(lock: Lock) -> str:
    lines = [
        "# sensorlab image lockfile: written by `inv build --update-lock`, do not edit.",
        f"version = {LOCK_VERSION}",
        f"arch = {_q(lock.arch)}",
        f"request = {_array(lock.request)}",
        f"repositories = {_array(lock.repositories)}",
    ]
    for pkg in lock.packages:
        lines += [
            "",
            "[[package]]",
            f"name = {_q(pkg.name)}",
            f"version = {_q(pkg.version)}",
            f"checksum = {_q(pkg.checksum)}",
            f"repository = {_q(pkg.repository)}",
        ]
    return "\n".join(lines) + "\n"


def parse_lock(text: str, source: str) -> Lock:
    try:
        data = tomllib.loads(text)
        if data.get("version") != LOCK_VERSION:
            raise FormatError(f"lockfile {source}: unsupported version {data.get('version')!r}")
        packages = tuple(
            LockedPackage(str(p["name"]), str(p["version"]), str(p["checksum"]),
                          str(p["repository"]))
            for p in data.get("package", [])
        )
        return Lock(tuple(map(str, data["request"])), str(data["arch"]),
                    tuple(map(str, data["repositories"])), packages)
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise FormatError(f"lockfile {source}: malformed ({exc})",
                          hint="regenerate it with `inv build --update-lock`") from exc


def load_lock(path: Path) -> Lock | None:
    return parse_lock(path.read_text(), str(path)) if path.is_file() else None


def check_matches(lock: Lock, request: Sequence[str], arch: str,
                  repositories: Sequence[str], source: str) -> None:
    """Raise LockMismatchError unless the lock was made for this request."""
    wanted = tuple(sorted(set(request)))
    problems = []
    if lock.request != wanted:
        added = sorted(set(wanted) - set(lock.request))
        removed = sorted(set(lock.request) - set(wanted))
        if added:
            problems.append("recipe now asks for " + ", ".join(added))
        if removed:
            problems.append("recipe no longer asks for " + ", ".join(removed))
    if lock.arch != arch:
        problems.append(f"arch is {arch}, lock has {lock.arch}")
    unknown = sorted({p.repository for p in lock.packages} - set(repositories))
    if unknown:
        problems.append("lock uses repositories the recipe no longer has: " + ", ".join(unknown))
    if problems:
        raise LockMismatchError(f"lockfile {source} no longer matches the recipe: "
                                + "; ".join(problems),
                                hint="run `inv build --update-lock` to re-resolve")
