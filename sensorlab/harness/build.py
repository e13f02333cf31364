"""``inv build``: the appliance image and every instrument image, skipping unchanged ones."""

from __future__ import annotations

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
from sensorlab.images import appliance, buildinfo
from sensorlab.images.lxdimage import hash_inputs, tree_inputs
from sensorlab.images.sbom import render_spdx
from sensorlab.images.tarball import source_date_epoch, write_tar


@dataclass(frozen=True)
class BuiltImage:
    name: str
    path: Path
    sha256: str
    skipped: bool




def build_appliance(recipe_dir: Path, package_dir: Path, out_dir: Path,
                    cache_dir: Path) -> BuiltImage:
    """appliance.tar, appliance.spdx.json and appliance.build.json, unless up to date."""
    recipe = appliance.ApplianceRecipe.load(recipe_dir / "recipe.yaml")
    rootfs = appliance.debootstrap(recipe, cache_dir)
    image = out_dir / "appliance.tar"
    sbom = out_dir / "appliance.spdx.json"
    manifest = out_dir / "appliance.build.json"
    inputs: dict[str, object] = {
        "recipe": {"suite": recipe.suite, "mirror": recipe.mirror, "variant": recipe.variant,
                   "packages": list(recipe.packages), "enable": list(recipe.enable)},
        "overlay": hash_inputs(tree_inputs(recipe_dir, "recipe")),
        "platform_code": hash_inputs(tree_inputs(package_dir, "sensorlab")),
        "source_date_epoch": source_date_epoch(),
    }
    tools = {**buildinfo.tool_versions(), "debootstrap": appliance.debootstrap_version()}
    digest = buildinfo.inputs_digest(inputs, tools)
    if buildinfo.up_to_date(manifest, digest):
        log.info(f"appliance: inputs unchanged, keeping {image.name}")
        return BuiltImage("appliance", image, buildinfo.sha256_file(image), skipped=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    with log.step("pack appliance image (~350 MB)"):
        write_tar(image, appliance.image_members(recipe, rootfs, recipe_dir / "rootfs",
                                                 package_dir),
                  compress=False)  # imported locally; gzip would cost more than it saves
    packages = appliance.sbom_packages(rootfs)
    _write_text(sbom, render_spdx("appliance", packages, created_epoch=source_date_epoch(),
                                  inputs_digest=digest, comment="Debian base via debootstrap"))
    outputs = {path.name: buildinfo.sha256_file(path) for path in (image, sbom)}
    inputs["packages"] = [f"{p.name}={p.version}" for p in packages]
    _write_text(manifest, buildinfo.render_manifest("appliance", source_date_epoch(), digest,
                                                    inputs, tools, outputs))
    return BuiltImage("appliance", image, outputs[image.name], skipped=False)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(0o644)
    tmp.replace(path)


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
            built.append(BuiltImage(result.name, result.image, buildinfo.sha256_file(result.image),
                                    result.skipped))
    with log.step("build appliance image", total, total):
        built.append(build_appliance(recipe_dir, package_dir, out_dir, cache_dir))
    return built
