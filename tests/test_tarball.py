"""Deterministic archives: same tree, same bytes, whatever the umask, clock or directory."""

from __future__ import annotations

import hashlib
import os
import tarfile
import time
from pathlib import Path

from sensorlab.images.lxdimage import overlay_members
from sensorlab.images.tarball import Member, merge, write_tar


def make_payload(root: Path, umask: int) -> Path:
    old = os.umask(umask)
    try:
        (root / "etc" / "init.d").mkdir(parents=True)
        (root / "etc" / "inittab").write_text("::sysinit:/etc/init.d/rcS\n")
        script = root / "etc" / "init.d" / "rcS"
        script.write_text("#!/bin/sh\n")
        script.chmod(0o777 & ~umask)
    finally:
        os.umask(old)
    return root


def image_sha(tmp: Path, umask: int) -> str:
    payload = make_payload(tmp / "payload", umask)
    members = merge([Member("rootfs", mode=0o755), Member("rootfs/bin/sh", linkname="busybox")],
                    overlay_members(payload))
    out = tmp / "probe.tar.gz"
    write_tar(out, members, compress=True)
    return hashlib.sha256(out.read_bytes()).hexdigest()


def test_two_builds_agree_across_dirs_umasks_and_time(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = image_sha(tmp_path / "a", 0o022)
    time.sleep(1.1)  # a different wall clock second
    second = image_sha(tmp_path / "b", 0o077)
    assert first == second


def test_members_are_sorted_and_owned_by_root(tmp_path: Path) -> None:
    out = tmp_path / "x.tar"
    write_tar(out, [Member("b", data=b"2"), Member("a", data=b"1", mode=0o600),
                    Member("c", linkname="a")])
    with tarfile.open(out) as tar:
        infos = tar.getmembers()
    assert [i.name for i in infos] == ["a", "b", "c"]
    assert {(i.uid, i.gid, i.uname) for i in infos} == {(0, 0, "")}
    assert infos[2].issym() and infos[2].linkname == "a"
    assert infos[0].mode == 0o600


def test_later_layers_replace_earlier_members() -> None:
    merged = merge([Member("x", data=b"old"), Member("y", data=b"y")], [Member("x", data=b"new")])
    assert {m.arcname: m.data for m in merged} == {"x": b"new", "y": b"y"}


def test_overlay_modes_come_from_the_executable_bit_only(tmp_path: Path) -> None:
    payload = make_payload(tmp_path / "p", 0o077)
    modes = {m.arcname: m.mode for m in overlay_members(payload)}
    assert modes["rootfs/etc/inittab"] == 0o644
    assert modes["rootfs/etc/init.d/rcS"] == 0o755
    assert modes["rootfs/etc"] == 0o755
