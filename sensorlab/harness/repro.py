"""Rebuild everything from nothing elsewhere and compare: same inputs, same sha256.

The second build runs in another directory, with an empty cache (so a fresh
debootstrap and a fresh lab repository), under umask 077 and at a later
time. Only the inputs are shared: the recipes, the committed lockfiles and
the project signing key.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from sensorlab import log
from sensorlab.harness.build import build_all
from sensorlab.harness.instruments import BuildPaths
from sensorlab.images.buildinfo import sha256_file

ARTIFACT_SUFFIXES = (".tar", ".tar.gz", ".spdx.json", ".build.json")


@dataclass(frozen=True)
class Comparison:
    artifact: str
    reference: str
    rebuilt: str | None

    @property
    def same(self) -> bool:
        return self.reference == self.rebuilt


def artifacts(images_dir: Path) -> dict[str, str]:
    return {path.name: sha256_file(path) for path in sorted(images_dir.iterdir())
            if path.is_file() and path.name.endswith(ARTIFACT_SUFFIXES)}


def compare(reference: dict[str, str], rebuilt: dict[str, str]) -> list[Comparison]:
    """Every reference artifact against its rebuilt twin. Pure."""
    return [Comparison(name, sha, rebuilt.get(name)) for name, sha in sorted(reference.items())]


def rebuild(recipe_dir: Path, package_dir: Path, instruments_dir: Path, keys: Path,
            locks: Path, work: Path) -> dict[str, str]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    paths = BuildPaths(keys=work / "keys", repo=work / "repo", payloads=work / "payloads",
                       locks=locks, out=work / "images", cache=work / "cache")
    shutil.copytree(keys, paths.keys)  # the key is an input, like a recipe
    old = os.umask(0o077)
    try:
        with log.step(f"clean rebuild in {work} (umask 077, empty cache)"):
            build_all(recipe_dir, package_dir, instruments_dir, paths.out, paths.cache, paths)
    finally:
        os.umask(old)
    return artifacts(paths.out)
