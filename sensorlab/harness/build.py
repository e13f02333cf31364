"""``inv build``: the appliance image and every instrument image, skipping unchanged ones."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sensorlab import log
from sensorlab.errors import SensorlabError
from sensorlab.images import appliance, busybox
from sensorlab.images.lxdimage import hash_inputs, tree_inputs
from sensorlab.images.tarball import Member, write_tar
from sensorlab.run import find_binary


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


def build_instrument(instrument_dir: Path, out_dir: Path) -> BuiltImage:
    name = instrument_dir.name
    busybox_bin = find_binary("busybox")
    if busybox_bin is None:
        raise SensorlabError("busybox not found", hint="apt-get install busybox-static")
    payload = instrument_dir / "payload"
    applets = busybox.applet_paths(busybox_bin)
    key = hash_inputs(
        [("busybox", busybox_bin.read_bytes()), ("applets", "\n".join(applets).encode())]
        + (tree_inputs(payload, "payload") if payload.is_dir() else [])
    )
    return build_image(
        name, out_dir / f"{name}.tar.gz", key,
        lambda: busybox.image_members(name, busybox_bin, payload, applets),
        compress=True,
    )


def build_all(recipe_dir: Path, package_dir: Path, instruments_dir: Path, out_dir: Path,
              cache_dir: Path) -> list[BuiltImage]:
    instrument_dirs = sorted(p for p in instruments_dir.iterdir() if (p / "payload").is_dir())
    total = 1 + len(instrument_dirs)
    built = []
    for index, instrument_dir in enumerate(instrument_dirs, start=1):
        with log.step(f"build instrument image {instrument_dir.name}", index, total):
            built.append(build_instrument(instrument_dir, out_dir))
    with log.step("build appliance image", total, total):
        built.append(build_appliance(recipe_dir, package_dir, out_dir, cache_dir))
    return built
