"""Instrument images through the Alpine path: signed payload .apk + locked base packages.

Alpine's mirror is out of reach here, so the lab builds from its own
repository: Debian's static busybox packaged as an Alpine-format ``busybox``
apk and signed with the project key. Where the mirror is reachable, a recipe
lists it (and Alpine's keys) instead; nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sensorlab import log, names
from sensorlab.errors import SensorlabError
from sensorlab.images.alpine import ImageResult, Recipe, build_image, package_payload
from sensorlab.images.apk.build import write_repository
from sensorlab.images.apk.keys import KeyPair, generate_keypair, load_signing_key
from sensorlab.images.apk.repo import Repository
from sensorlab.images.apk.testrepo import busybox_package, busybox_version, find_static_busybox
from sensorlab.images.tarball import source_date_epoch
from sensorlab.planner.manifest import load_manifest

LAB_REPOSITORY = "lab"
LAB_VENDOR = "sensorlab"
DEFAULT_ENTRYPOINT = ("/usr/libexec/sensorlab/instrument",)


@dataclass(frozen=True)
class BuildPaths:
    keys: Path  # the project signing key pair (inv keygen)
    repo: Path  # the generated lab repository
    payloads: Path  # signed payload packages
    locks: Path  # committed lockfiles, one per image
    out: Path
    cache: Path


def signing_key(keys_dir: Path) -> Path:
    """The project's private key; a first build makes one (`inv keygen` does it explicitly)."""
    found = sorted(keys_dir.glob("*.rsa"))
    if len(found) > 1:
        raise SensorlabError(f"several signing keys in {keys_dir}: {[p.name for p in found]}",
                             hint="keep exactly one *.rsa (and its .pub) there")
    if found:
        return found[0]
    log.info(f"no signing key in {keys_dir}: generating one (see `inv keygen`)")
    return keygen(keys_dir).private


def keygen(keys_dir: Path, bits: int = 4096) -> KeyPair:
    if any(keys_dir.glob("*.rsa")):
        raise SensorlabError(f"{keys_dir} already holds a signing key",
                             hint="move it away first if you really mean to rotate it")
    keys_dir.mkdir(parents=True, exist_ok=True)
    keys_dir.chmod(0o700)
    return generate_keypair(keys_dir, "sensorlab", bits=bits)


def lab_repository(paths: BuildPaths, key_path: Path) -> Repository:
    busybox = find_static_busybox()
    write_repository(paths.repo, [busybox_package(busybox, busybox_version(busybox),
                                                  load_signing_key(key_path),
                                                  source_date_epoch())],
                     load_signing_key(key_path),
                     description="sensorlab lab repository (Debian busybox-static)")
    return Repository(LAB_REPOSITORY, str(paths.repo), vendor=LAB_VENDOR)


def instrument_dirs(instruments: Path) -> list[Path]:
    return sorted(p for p in instruments.iterdir()
                  if (p / "manifest.yaml").is_file() and (p / "payload").is_dir())


def build_instrument(instrument_dir: Path, paths: BuildPaths, repository: Repository,
                     key_path: Path, update_lock: bool) -> ImageResult:
    manifest = load_manifest(instrument_dir / "manifest.yaml")
    image = manifest.image
    payload = package_payload(instrument_dir / "payload", paths.payloads, key_path,
                              name=image.name, depends=("cmd:sh",),
                              description=f"sensorlab instrument payload {image.name}")
    recipe = Recipe(
        name=image.name,
        repositories=(repository,),
        keys_dir=paths.keys,
        packages=("busybox", *image.packages),
        lockfile=paths.locks / f"{image.name}.lock",
        payloads=(payload,),
        entrypoint=image.entrypoint or DEFAULT_ENTRYPOINT,
        user=image.user,
        uid=names.INSTRUMENT_UID,
        description=f"sensorlab instrument {image.name}",
    )
    return build_image(recipe, paths.out, paths.cache, update_lock=update_lock)
