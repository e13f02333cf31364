"""Alpine-format instrument images, assembled without apk or Docker (the apko way).

``build_image`` turns a ``Recipe`` into three artifacts in ``out_dir``:

* ``<name>.tar.gz``: the LXD unified image (metadata.yaml + rootfs/);
* ``<name>.spdx.json``: SPDX 2.3 SBOM, every package with version, sha256 and purl;
* ``<name>.build.json``: input hashes, tool versions and output hashes.

Same inputs, same bytes: the rootfs is planned in memory and written with
sorted entries, numeric owners and SOURCE_DATE_EPOCH times, so neither the
build directory, the clock nor the umask reaches the artifacts.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sensorlab import log
from sensorlab.errors import SensorlabError
from sensorlab.images import buildinfo, busybox
from sensorlab.images.apk.build import build_package
from sensorlab.images.apk.errors import ApkError
from sensorlab.images.apk.fetch import Request, Selected, select_packages
from sensorlab.images.apk.install import (
    DEFAULT_MAX_MEMBER,
    Node,
    Policy,
    Rootfs,
    add_applet_links,
    normalize,
    plan_install,
)
from sensorlab.images.apk.keys import TrustedKeys, load_signing_key, load_trusted_keys
from sensorlab.images.apk.lock import Lock
from sensorlab.images.apk.pkginfo import PackageInfo
from sensorlab.images.apk.repo import PackageCache, Repository, package_filename
from sensorlab.images.apk.resolve import Candidate, satisfies
from sensorlab.images.apk.rootfs import rootfs_members
from sensorlab.images.apk.skeleton import InitSpec, skeleton
from sensorlab.images.apk.testrepo import hello_payload, make_test_repository
from sensorlab.images.lxdimage import ImageInfo, metadata_member
from sensorlab.images.sbom import SbomPackage, apk_purl, render_spdx
from sensorlab.images.tarball import merge, source_date_epoch, write_tar
from sensorlab.run import run


@dataclass(frozen=True)
class Recipe:
    name: str
    repositories: tuple[Repository, ...]
    keys_dir: Path  # trusted public keys (*.pub), copied to /etc/apk/keys
    packages: tuple[str, ...]  # apk dependency strings: "busybox", "so:libc.musl-x86_64.so.1"
    lockfile: Path
    payloads: tuple[Path, ...] = ()  # signed instrument .apk files
    entrypoint: tuple[str, ...] = ()  # argv; empty: init runs nothing after rcS
    user: str = "root"
    uid: int = 1000
    setuid: tuple[str, ...] = ()  # paths allowed to carry setuid/setgid bits
    arch: str = "x86_64"
    description: str = ""
    max_member_size: int = DEFAULT_MAX_MEMBER
    max_unpacked: int = 1 << 30


@dataclass(frozen=True)
class ImageResult:
    name: str
    image: Path
    sbom: Path
    manifest: Path
    lockfile: Path
    skipped: bool
    sha256: Mapping[str, str] = field(default_factory=dict)  # artifact file name -> sha256
    packages: tuple[str, ...] = ()  # "name-version", install order


def _recipe_inputs(recipe: Recipe, trusted: TrustedKeys) -> dict[str, object]:
    """Everything that decides the output, without paths of the build machine."""
    lock = recipe.lockfile
    return {
        "recipe": {
            "name": recipe.name, "packages": sorted(recipe.packages), "arch": recipe.arch,
            "repositories": [{"name": r.name, "vendor": r.vendor,
                              "url": r.url if r.remote else "(local directory)"}
                             for r in recipe.repositories],
            "entrypoint": list(recipe.entrypoint), "user": recipe.user, "uid": recipe.uid,
            "setuid": sorted(recipe.setuid), "description": recipe.description,
            "max_member_size": recipe.max_member_size, "max_unpacked": recipe.max_unpacked,
        },
        "source_date_epoch": source_date_epoch(),
        "keys": trusted.digest(),
        "payloads": {p.name: buildinfo.sha256_file(p) for p in sorted(recipe.payloads)},
        "lockfile": buildinfo.sha256_file(lock) if lock.is_file() else None,
    }


def _applets(rootfs: Rootfs, scratch: Path) -> list[str]:
    """Ask the packaged busybox which applets it has and where they go.

    A static busybox runs as it is; a musl-linked one (Alpine's) runs through
    the packaged musl loader. The list depends only on the binary's bytes.
    """
    binary = rootfs.get("bin/busybox")
    if binary is None or binary.kind != "file":
        return []
    exe = scratch / "busybox"
    exe.write_bytes(binary.data)
    exe.chmod(0o755)
    loader = rootfs.get("lib/ld-musl-x86_64.so.1")
    if loader is not None and loader.kind == "file":
        ld = scratch / "ld-musl"
        ld.write_bytes(loader.data)
        ld.chmod(0o755)
        listing = run([ld, exe, "--list-full"], hint="cannot run the packaged busybox").stdout
        return sorted(line.strip() for line in listing.splitlines() if line.strip())
    return busybox.applet_paths(exe)


def _apk_db_nodes(recipe: Recipe, trusted: TrustedKeys, world: list[str], installed: str,
                  scripts: bytes, triggers: str) -> list[Node]:
    remote = "".join(f"{r.url}\n" for r in recipe.repositories if r.remote)
    files = {
        "lib/apk/db/installed": installed.encode(), "lib/apk/db/scripts.tar": scripts,
        "lib/apk/db/triggers": triggers.encode(), "lib/apk/db/lock": b"",
        "etc/apk/world": "".join(f"{w}\n" for w in world).encode(),
        "etc/apk/arch": f"{recipe.arch}\n".encode(), "etc/apk/repositories": remote.encode(),
    }
    files.update({f"etc/apk/keys/{name}": pem for name, pem in trusted.keys.items()})
    return [Node(path, "file", 0o644, data=data) for path, data in sorted(files.items())]


def assemble_rootfs(recipe: Recipe, selected: list[Selected], trusted: TrustedKeys,
                    lock: Lock, scratch: Path) -> Rootfs:
    policy = Policy(frozenset(normalize(p, "recipe setuid list") for p in recipe.setuid),
                    recipe.max_member_size)
    rootfs, installed, scripts, triggers = plan_install([s.apk for s in selected], policy)
    rootfs = add_applet_links(rootfs, _applets(rootfs, scratch))
    rootfs = rootfs.with_nodes(_apk_db_nodes(recipe, trusted, list(lock.request), installed,
                                             scripts, triggers), overwrite=True)
    rootfs = skeleton(rootfs, InitSpec(recipe.name, recipe.entrypoint, recipe.user, recipe.uid))
    init = rootfs.get("sbin/init")
    if init is None:
        raise ApkError(f"image {recipe.name} has no /sbin/init",
                       hint="install busybox (its init applet becomes /sbin/init)")
    return rootfs


def sbom_packages(selected: list[Selected]) -> list[SbomPackage]:
    cands = [Candidate(s.apk.info, s.repository.name, 0) for s in selected]
    out = []
    for s in selected:
        info = s.apk.info
        deps = {c.info.name for dep in info.dependencies() if not dep.conflict
                for c in cands if c.info.name != info.name and satisfies(c, dep)}
        out.append(SbomPackage(
            name=info.name, version=info.version,
            purl=apk_purl(s.repository.vendor, info.name, info.version, info.arch),
            checksums=(("SHA256", s.sha256),), license=info.license,
            supplier=f"Organization: {s.repository.vendor}", description=info.description,
            depends_on=tuple(sorted(deps))))
    return out


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(0o644)
    tmp.replace(path)


def build_image(recipe: Recipe, out_dir: Path, cache_dir: Path,
                update_lock: bool = False) -> ImageResult:
    """Build ``recipe`` into ``out_dir``; skipped when the recorded inputs match."""
    trusted = load_trusted_keys(recipe.keys_dir)
    names = {k: out_dir / f"{recipe.name}{k}" for k in (".tar.gz", ".spdx.json", ".build.json")}
    tools = buildinfo.tool_versions()
    before = buildinfo.inputs_digest(_recipe_inputs(recipe, trusted), tools)
    if not update_lock and buildinfo.up_to_date(names[".build.json"], before):
        log.info(f"{recipe.name}: inputs unchanged, keeping {names['.tar.gz'].name}")
        return ImageResult(recipe.name, names[".tar.gz"], names[".spdx.json"],
                           names[".build.json"], recipe.lockfile, skipped=True)
    request = Request(recipe.packages, recipe.repositories, recipe.payloads, recipe.lockfile,
                      recipe.arch, recipe.max_unpacked)
    selected, lock = select_packages(request, trusted, PackageCache(cache_dir), update_lock)
    # Digest again: the lock may just have been written. The lock pins every
    # package, so the package list below is a record, not a further input.
    inputs = _recipe_inputs(recipe, trusted)
    digest = buildinfo.inputs_digest(inputs, tools)
    inputs["packages"] = [{"name": s.apk.info.name, "version": s.apk.info.version,
                           "checksum": s.apk.checksum, "repository": s.repository.name,
                           "sha256": s.sha256} for s in selected]
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix="scratch-") as scratch:
        rootfs = assemble_rootfs(recipe, selected, trusted, lock, Path(scratch))
    info = ImageInfo(name=recipe.name, os="sensorlab-alpine", release=recipe.arch,
                     description=recipe.description or f"sensorlab instrument {recipe.name}")
    out_dir.mkdir(parents=True, exist_ok=True)
    write_tar(names[".tar.gz"], merge([metadata_member(info)], rootfs_members(rootfs)),
              compress=True)
    _write_text(names[".spdx.json"], render_spdx(
        recipe.name, sbom_packages(selected), created_epoch=source_date_epoch(),
        inputs_digest=digest, comment="Alpine-format image: apk packages, busybox init"))
    outputs = {p.name: buildinfo.sha256_file(p) for k, p in names.items() if k != ".build.json"}
    _write_text(names[".build.json"], buildinfo.render_manifest(
        recipe.name, source_date_epoch(), digest, inputs, tools, outputs))
    outputs[names[".build.json"].name] = buildinfo.sha256_file(names[".build.json"])
    return ImageResult(recipe.name, names[".tar.gz"], names[".spdx.json"], names[".build.json"],
                       recipe.lockfile, skipped=False, sha256=outputs,
                       packages=tuple(s.apk.info.nv for s in selected))


def package_payload(payload_dir: Path, out_dir: Path, key_path: Path, *, name: str,
                    version: str = "1.0-r0", depends: tuple[str, ...] = (),
                    description: str = "", license: str = "", arch: str = "x86_64") -> Path:
    """Package an instrument payload tree as ``out_dir/<name>-<version>.apk``,
    signed with the private key at ``key_path`` (from ``inv keygen``).

    The file is only rewritten when its bytes change, so an unchanged payload
    leaves the image's inputs (and its build) untouched.
    """
    info = PackageInfo(name=name, version=version, arch=arch, depends=depends, license=license,
                       description=description or f"sensorlab payload {name}", origin=name)
    blob = build_package(payload_dir, info, load_signing_key(key_path))
    out = out_dir / package_filename(name, version)
    if not out.is_file() or out.read_bytes() != blob:
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_bytes(blob)
        tmp.chmod(0o644)
        tmp.replace(out)
    return out


def make_test_recipe(work_dir: Path, name: str = "alpine-test") -> Recipe:
    """The recipe of the test image: busybox from the test repository plus a payload."""
    repo = make_test_repository(work_dir)
    payload = hello_payload(work_dir, repo.key)
    return Recipe(name=name, repositories=(repo.repository,), keys_dir=repo.keys_dir,
                  packages=("busybox",), lockfile=work_dir / f"{name}.lock",
                  payloads=(payload,), entrypoint=("/usr/bin/sensorlab-hello",),
                  user="sensor", uid=1000, description="sensorlab Alpine-path test image")


def build_test_image(work_dir: Path) -> Path:
    """Generate the test repository and payload under ``work_dir`` and build the
    test image from them; returns the LXD image tarball (for boot tests)."""
    if not work_dir.is_absolute():
        raise SensorlabError(f"work_dir must be absolute: {work_dir}")
    recipe = make_test_recipe(work_dir)
    return build_image(recipe, work_dir / "out", work_dir / "cache").image
