"""Building Alpine-format images end to end from the generated test repository."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import tarfile
import time
from pathlib import Path

import pytest
from apk_helpers import EPOCH, apk, other_key, scratch, shared_repo, signing

from sensorlab.images.alpine import ImageResult, Recipe, build_image, package_payload
from sensorlab.images.apk.build import write_repository
from sensorlab.images.apk.errors import (
    ApkError,
    ChecksumError,
    FetchError,
    HostileArchiveError,
    LockMismatchError,
    SignatureError,
)
from sensorlab.images.apk.lock import load_lock, render_lock
from sensorlab.images.apk.package import DataEntry, read_apk, verify_apk
from sensorlab.images.apk.repo import Repository
from sensorlab.images.apk.testrepo import hello_payload

ARTIFACTS = (".tar.gz", ".spdx.json", ".build.json")


@pytest.fixture(autouse=True)
def _epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))


def recipe(work: Path, packages: tuple[str, ...] = ("busybox",), payload: bool = True,
           **changes: object) -> Recipe:
    repo = shared_repo()
    payloads = (hello_payload(scratch() / "payload", repo.key),) if payload else ()
    base = Recipe(name="img", repositories=(repo.repository,), keys_dir=repo.keys_dir,
                  packages=packages, lockfile=work / "img.lock", payloads=payloads,
                  entrypoint=("/usr/bin/sensorlab-hello",), user="sensor")
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def build(work: Path, rec: Recipe | None = None, update_lock: bool = False) -> ImageResult:
    return build_image(rec or recipe(work), work / "out", work / "cache", update_lock)


def digests(result: ImageResult) -> dict[str, str]:
    out = result.image.parent
    return {s: hashlib.sha256((out / f"{result.name}{s}").read_bytes()).hexdigest()
            for s in ARTIFACTS}


def members(image: Path) -> dict[str, tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(image) as tar:
        return {m.name: (m, (tar.extractfile(m) or io.BytesIO()).read() if m.isfile() else b"")
                for m in tar}


def test_image_contents(tmp_path: Path) -> None:
    result = build(tmp_path)
    assert not result.skipped
    assert [p.rpartition("-")[0].rpartition("-")[0] for p in result.packages] == [
        "busybox", "sensorlab-hello"]
    files = members(result.image)
    meta = files["metadata.yaml"][1].decode()
    assert "architecture: x86_64\n" in meta and f"creation_date: {EPOCH}\n" in meta
    assert files["rootfs/sbin/init"][0].linkname == "../bin/busybox"
    assert files["rootfs/bin/sh"][0].linkname == "../bin/busybox"
    assert files["rootfs/usr/bin/sensorlab-hello"][0].mode == 0o755
    installed = files["rootfs/lib/apk/db/installed"][1].decode()
    assert "P:busybox\n" in installed and "P:sensorlab-hello\n" in installed
    assert files["rootfs/etc/apk/world"][1] == b"busybox\nsensorlab-hello\n"
    assert all(m.uname == "" and m.mtime <= EPOCH for m, _ in files.values())
    sbom = json.loads(result.sbom.read_text())
    assert sbom["spdxVersion"] == "SPDX-2.3"
    assert sbom["creationInfo"]["created"] == "2026-01-01T00:00:00Z"
    purls = {ref["referenceLocator"] for p in sbom["packages"] for ref in p.get("externalRefs", [])}
    bb = shared_repo().busybox_version
    assert f"pkg:apk/sensorlab/busybox@{bb}?arch=x86_64" in purls
    assert all(p.get("checksums") for p in sbom["packages"][1:])
    manifest = json.loads(result.manifest.read_text())
    assert manifest["outputs"][result.image.name] == digests(result)[".tar.gz"]
    assert str(tmp_path) not in result.manifest.read_text() + result.sbom.read_text()


def test_two_clean_builds_are_bit_identical(tmp_path: Path) -> None:
    """Different directories, umasks and wall-clock times; same bytes."""
    results = []
    for index, umask in enumerate((0o022, 0o077)):
        old = os.umask(umask)
        try:
            results.append(build(tmp_path / f"build-{index}" / "deeper" / "dir"))
        finally:
            os.umask(old)
        if index == 0:
            time.sleep(1.1)
    assert digests(results[0]) == digests(results[1])
    assert results[0].lockfile.read_bytes() == results[1].lockfile.read_bytes()


def test_unchanged_inputs_skip_the_build(tmp_path: Path) -> None:
    first = build(tmp_path)
    again = build(tmp_path)
    assert again.skipped and digests(again) == digests(first)
    # A tampered artifact is rebuilt rather than trusted.
    first.image.write_bytes(b"broken")
    assert not build(tmp_path).skipped
    assert digests(build(tmp_path)) == digests(first)


def test_stale_lock_fails_unless_updated(tmp_path: Path) -> None:
    build(tmp_path)
    wider = recipe(tmp_path, packages=("busybox", "fake-tool"))
    with pytest.raises(LockMismatchError, match="recipe now asks for fake-tool"):
        build(tmp_path, wider)
    result = build(tmp_path, wider, update_lock=True)
    lock = load_lock(result.lockfile)
    assert lock is not None
    # fake-tool needs so:libfake.so.1 (highest: 1.2) and cmd:sh (busybox).
    assert {(p.name, p.version) for p in lock.packages} == {
        ("busybox", shared_repo().busybox_version), ("fake-tool", "2.0-r0"),
        ("libfake", "1.2-r0")}


def test_locked_build_runs_offline_from_the_cache(tmp_path: Path) -> None:
    build(tmp_path)
    gone = Repository("test", str(tmp_path / "no-such-repo"), vendor="sensorlab")
    offline = recipe(tmp_path, repositories=(gone,))
    result = build_image(offline, tmp_path / "out2", tmp_path / "cache")
    assert digests(result) == digests(build(tmp_path))
    with pytest.raises(FetchError, match="cannot read"):
        build_image(offline, tmp_path / "out3", tmp_path / "empty-cache")


def test_lock_checksum_mismatch(tmp_path: Path) -> None:
    build(tmp_path)
    lock = load_lock(tmp_path / "img.lock")
    assert lock is not None
    forged = [dataclasses.replace(p, checksum="Q1" + "A" * 26 + "A=") for p in lock.packages]
    (tmp_path / "img.lock").write_text(render_lock(dataclasses.replace(
        lock, packages=tuple(forged))))
    bb = re.escape(shared_repo().busybox_version)
    with pytest.raises(ChecksumError, match=rf"package busybox-{bb}: checksum .* the lock"):
        build_image(recipe(tmp_path), tmp_path / "out", tmp_path / "fresh-cache")


# --- small repositories with one bad thing each (no busybox: they fail early) ---

def small(work: Path, packages: list[bytes], index_key: object = None) -> Recipe:
    key, _ = signing()
    write_repository(work / "repo", packages, index_key or key,  # type: ignore[arg-type]
                     mtime=EPOCH)
    return Recipe(name="small", repositories=(Repository("r", str(work / "repo")),),
                  keys_dir=scratch() / "keys", packages=("app",), lockfile=work / "s.lock")


APP = [DataEntry("usr", "dir", 0o755), DataEntry("usr/app", data=b"app")]


def test_file_url_repository(tmp_path: Path) -> None:
    rec = small(tmp_path, [apk("app", APP)])
    url = Repository("r", f"file://{tmp_path / 'repo'}")
    # Resolution and verification succeed; the image then lacks busybox's init.
    with pytest.raises(ApkError, match="has no /sbin/init"):
        build_image(dataclasses.replace(rec, repositories=(url,)), tmp_path / "o", tmp_path / "c")
    lock = load_lock(tmp_path / "s.lock")
    assert lock is not None and [p.name for p in lock.packages] == ["app"]


def test_index_checksum_mismatch(tmp_path: Path) -> None:
    rec = small(tmp_path, [apk("app", APP)])
    # Same name and version, validly signed, but not what the index lists.
    other = apk("app", [*APP, DataEntry("usr/extra", data=b"x")])
    (tmp_path / "repo" / "x86_64" / "app-1.0-r0.apk").write_bytes(other)
    with pytest.raises(ChecksumError, match=r"package app-1\.0-r0: checksum .* the index"):
        build_image(rec, tmp_path / "out", tmp_path / "cache")


def test_untrusted_package_signature(tmp_path: Path) -> None:
    rec = small(tmp_path, [apk("app", APP)])
    # Identical control segment (so the index checksum matches), other signer.
    (tmp_path / "repo" / "x86_64" / "app-1.0-r0.apk").write_bytes(
        apk("app", APP, key=other_key()))
    with pytest.raises(SignatureError, match=r"package app-1\.0-r0: signed by untrusted key"):
        build_image(rec, tmp_path / "out", tmp_path / "cache")


def test_untrusted_index_signature(tmp_path: Path) -> None:
    rec = small(tmp_path, [apk("app", APP)], index_key=other_key())
    with pytest.raises(SignatureError, match="index of repository r: signed by untrusted key"):
        build_image(rec, tmp_path / "out", tmp_path / "cache")


def test_hostile_package_fails_the_build(tmp_path: Path) -> None:
    rec = small(tmp_path, [apk("app", [DataEntry("../../etc/cron.d/x", data=b"* * * * *")])])
    with pytest.raises(HostileArchiveError, match=r"package app-1\.0-r0: .* contains '\.\.'"):
        build_image(rec, tmp_path / "out", tmp_path / "cache")
    assert not (tmp_path / "out" / "small.tar.gz").exists()


def test_payload_must_be_signed_by_a_trusted_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.apk"
    bad.write_bytes(apk("app", APP, key=other_key()))
    rec = dataclasses.replace(small(tmp_path, [apk("base")]), payloads=(bad,), packages=())
    with pytest.raises(SignatureError, match="signed by untrusted key"):
        build_image(rec, tmp_path / "out", tmp_path / "cache")


def test_payload_packages_are_reproducible(tmp_path: Path) -> None:
    """Same payload tree under different umasks and modes: same signed package."""
    key = sorted((scratch() / "keys").glob("*.rsa"))[0]
    built = []
    for index, umask in enumerate((0o022, 0o077)):
        old = os.umask(umask)
        try:
            tree = tmp_path / f"tree{index}"
            (tree / "usr" / "bin").mkdir(parents=True)
            tool = tree / "usr" / "bin" / "tool"
            tool.write_text("#!/bin/sh\necho tool\n")
            tool.chmod(0o700 if index else 0o775)
            built.append(package_payload(tree, tmp_path / f"out{index}", key, name="tool",
                                         depends=("cmd:sh",)).read_bytes())
        finally:
            os.umask(old)
        time.sleep(0.1)
    assert built[0] == built[1]
    parsed = read_apk(built[0], "tool")
    verify_apk(parsed, signing()[1])
    assert parsed.info.provides == ("cmd:tool=1.0-r0",)
    assert parsed.info.depends == ("cmd:sh",)
