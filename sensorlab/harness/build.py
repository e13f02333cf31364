"""``inv build``: the appliance image and every instrument image, skipping unchanged ones."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sensorlab import log
from sensorlab.harness.instruments import (
    BuildPaths,
    build_instrument,
    instrument_dirs,
    lab_repository,
    signing_key,
)
from sensorlab.images import appliance
from sensorlab.images.lxdimage import hash_inputs, tree_inputs
from sensorlab.images.tarball import Member, write_tar


@dataclass(frozen=True)
class BuiltImage:
    name: str
    path: Path
    sha256: str
    skipped: bool


MembersFn = Callable[[], list[Member]]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_image(name: str, out: Path, inputs_key: str, members: MembersFn,
                compress: bool) -> BuiltImage:
    """Write ``out`` unless the stamp beside it records the same inputs."""
    stamp = out.with_name(out.name + ".inputs")
    if out.is_file() and stamp.is_file() and stamp.read_text().strip() == inputs_key:
        log.info(f"{name}: inputs unchanged, keeping {out.name}")
        return BuiltImage(name, out, _sha256(out), skipped=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_tar(out, members(), compress=compress)
    stamp.write_text(inputs_key + "\n")
    return BuiltImage(name, out, _sha256(out), skipped=False)


def build_appliance(recipe_dir: Path, package_dir: Path, out_dir: Path,
                    cache_dir: Path) -> BuiltImage:
    recipe = appliance.ApplianceRecipe.load(recipe_dir / "recipe.yaml")
    rootfs = appliance.debootstrap(recipe, cache_dir)
    key = hash_inputs(
        [("debootstrap", recipe.cache_key().encode())]
        + tree_inputs(recipe_dir, "recipe")
        + tree_inputs(package_dir, "sensorlab")
    )
    with log.step("pack appliance image (~500 MB)"):
        return build_image(
            "appliance", out_dir / "appliance.tar", key,
            lambda: appliance.image_members(recipe, rootfs, recipe_dir / "rootfs", package_dir),
            compress=False,  # imported locally; gzip of 500 MB would cost more than it saves
        )


def build_all(recipe_dir: Path, package_dir: Path, instruments_dir: Path, out_dir: Path,
              cache_dir: Path, paths: BuildPaths, update_lock: bool = False) -> list[BuiltImage]:
    """Every instrument image (Alpine path), then the appliance image."""
    dirs = instrument_dirs(instruments_dir)
    total = 1 + len(dirs)
    key = signing_key(paths.keys)
    repository = lab_repository(paths, key)
    built = []
    for index, instrument_dir in enumerate(dirs, start=1):
        with log.step(f"build instrument image {instrument_dir.name}", index, total):
            result = build_instrument(instrument_dir, paths, repository, key, update_lock)
            built.append(BuiltImage(result.name, result.image, _sha256(result.image),
                                    result.skipped))
    with log.step("build appliance image", total, total):
        built.append(build_appliance(recipe_dir, package_dir, out_dir, cache_dir))
    return built
