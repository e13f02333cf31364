"""Installing into a rootfs: hostile archives are refused naming the package;
the apk database is written as apk writes it."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from apk_helpers import EPOCH, apk, info, signing

from sensorlab.images.apk.errors import ApkError, ChecksumError, HostileArchiveError
from sensorlab.images.apk.install import (
    Policy,
    Rootfs,
    add_applet_links,
    escapes_root,
    plan_install,
)
from sensorlab.images.apk.package import ApkFile, DataEntry, build_apk, read_apk
from sensorlab.images.apk.rootfs import rootfs_members, write_rootfs
from sensorlab.images.apk.skeleton import InitSpec, skeleton

BIN = DataEntry("bin", "dir", 0o755)


def pkg(name: str, *entries: DataEntry, **fields: Any) -> ApkFile:
    return read_apk(apk(name, list(entries), **fields), name)


def install(*packages: ApkFile, policy: Policy | None = None) -> Rootfs:
    return plan_install(list(packages), policy or Policy())[0]


HOSTILE = {
    "dotdot": (DataEntry("../etc/passwd", data=b"x"), "contains '..'"),
    "dotdot-inside": (DataEntry("usr/../../x", data=b"x"), "contains '..'"),
    "absolute": (DataEntry("/etc/passwd", data=b"x"), "absolute path"),
    "symlink-escape": (DataEntry("lib/x", "symlink", linkname="../../etc/shadow"),
                       "escapes the root"),
    "symlink-escape-absolute": (DataEntry("lib/x", "symlink", linkname="/../../etc"),
                                "escapes the root"),
    "char-device": (DataEntry("dev/mem", "chardev", 0o600), "device node"),
    "block-device": (DataEntry("dev/sda", "blockdev", 0o600), "device node"),
    "fifo": (DataEntry("run/pipe", "fifo", 0o600), "FIFO"),
    "setuid": (DataEntry("bin/su", data=b"x", mode=0o4755), "setuid/setgid but not declared"),
    "setgid": (DataEntry("bin/wall", data=b"x", mode=0o2755), "setuid/setgid but not declared"),
    "bad-file-checksum": (DataEntry("bin/x", data=b"x", pax_sha1="0" * 40),
                          "does not match its recorded checksum"),
    "hardlink-outside": (DataEntry("bin/x", "hardlink", linkname="etc/shadow"),
                         "has no file of this package"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_member_is_refused(case: str) -> None:
    entry, message = HOSTILE[case]
    bad = pkg("evil", entry)
    error = ChecksumError if case == "bad-file-checksum" else HostileArchiveError
    with pytest.raises(error, match=message) as caught:
        install(bad)
    assert "package evil-1.0-r0" in caught.value.message


def test_oversized_member() -> None:
    big = pkg("big", BIN, DataEntry("bin/blob", data=b"x" * 100))
    with pytest.raises(HostileArchiveError, match=r"package big-1\.0-r0: /bin/blob is 100 bytes"):
        install(big, policy=Policy(max_member_size=99))
    assert install(big, policy=Policy(max_member_size=100)).get("bin/blob") is not None


def test_declared_setuid_is_kept() -> None:
    rootfs = install(pkg("su", BIN, DataEntry("bin/su", data=b"x", mode=0o4755)),
                     policy=Policy(setuid_allowed=frozenset({"bin/su"})))
    node = rootfs.get("bin/su")
    assert node is not None and node.mode == 0o4755


def test_path_through_symlink_is_refused() -> None:
    link = pkg("link", DataEntry("lib", "symlink", linkname="/etc"))
    writer = pkg("writer", DataEntry("lib/evil", data=b"x"))
    message = r"package writer-1\.0-r0: /lib/evil goes through"
    with pytest.raises(HostileArchiveError, match=message):
        install(link, writer)


def test_inside_symlinks_are_fine() -> None:
    rootfs = install(pkg("ok", BIN, DataEntry("bin/busybox", data=b"x", mode=0o755),
                         DataEntry("bin/sh", "symlink", linkname="/bin/busybox"),
                         DataEntry("bin/ash", "symlink", linkname="busybox")))
    assert {p for p, n in rootfs.nodes.items() if n.kind == "symlink"} == {"bin/sh", "bin/ash"}


def test_file_conflict_between_packages() -> None:
    one = pkg("one", BIN, DataEntry("bin/tool", data=b"1"))
    two = pkg("two", BIN, DataEntry("bin/tool", data=b"2"))
    message = r"package two-1\.0-r0: /bin/tool is already provided by one"
    with pytest.raises(ApkError, match=message):
        install(one, two)


def test_duplicate_member() -> None:
    with pytest.raises(HostileArchiveError, match="appears twice"):
        install(pkg("dup", BIN, DataEntry("bin/x", data=b"1"), DataEntry("bin/x", data=b"2")))


def test_hard_link_is_a_copy() -> None:
    rootfs = install(pkg("hl", BIN, DataEntry("bin/a", data=b"same", mode=0o755),
                         DataEntry("bin/b", "hardlink", linkname="bin/a")))
    a, b = rootfs.get("bin/a"), rootfs.get("bin/b")
    assert a is not None and b is not None and a.data == b.data == b"same"


def test_escapes_root() -> None:
    assert escapes_root("usr/lib/x", "../../../etc")
    assert not escapes_root("usr/lib/x", "../../etc")
    assert not escapes_root("bin/sh", "/bin/busybox")
    assert escapes_root("x", "/..")


def test_installed_database_format() -> None:
    tool = pkg("tool", BIN, DataEntry("bin/tool", data=b"t", mode=0o755),
               DataEntry("var", "dir", 0o755), DataEntry("var/lib", "dir", 0o750, uid=5, gid=6),
               DataEntry("var/lib/state", data=b"s", mode=0o600, uid=5, gid=6),
               depends=("cmd:sh",), license="MIT")
    _, installed, scripts, triggers = plan_install([tool], Policy())
    lines = installed.splitlines()
    assert lines[:9] == [f"C:{tool.checksum}", "P:tool", "V:1.0-r0", "A:x86_64",
                         f"S:{tool.info.file_size}", "I:2", "T:", "U:", "L:MIT"]
    body = installed[installed.index("F:bin"):]
    assert body.startswith(
        "F:bin\nR:tool\na:0:0:755\nZ:Q1")
    assert "F:var\nF:var/lib\nM:5:6:750\nR:state\na:5:6:600\nZ:Q1" in body
    assert "D:cmd:sh\n" in installed and installed.endswith("\n\n")
    assert triggers == ""
    assert len(scripts) % 512 == 0


def test_scripts_are_recorded_not_run() -> None:
    blob = build_apk(info("s"), [], signing()[0], mtime=EPOCH,
                     scripts={"post-install": b"#!/bin/sh\ntouch /pwned\n"})
    parsed = read_apk(blob, "s")
    rootfs, _, scripts, _ = plan_install([parsed], Policy())
    assert f"s-1.0-r0.{parsed.checksum}.post-install".encode() in scripts
    assert rootfs.get("pwned") is None


def test_applet_links() -> None:
    rootfs = install(pkg("busybox", BIN, DataEntry("bin/busybox", data=b"x", mode=0o755),
                         DataEntry("bin/ls", data=b"real ls", mode=0o755)))
    linked = add_applet_links(rootfs, ["bin/busybox", "bin/ls", "bin/sh", "usr/bin/[",
                                       "sbin/init"])
    assert linked.nodes["bin/ls"].kind == "file"  # a packaged file is never replaced
    assert linked.nodes["bin/sh"].linkname == "../bin/busybox"
    assert linked.nodes["usr/bin/["].linkname == "../../bin/busybox"
    assert linked.nodes["sbin/init"].linkname == "../bin/busybox"
    with pytest.raises(HostileArchiveError):
        add_applet_links(rootfs, ["../../evil"])


def test_skeleton_merges_users_and_owns_init() -> None:
    base = install(pkg("baselayout", DataEntry("etc", "dir", 0o755),
                       DataEntry("etc/passwd",
                                 data=b"root:x:0:0:r:/root:/bin/ash\nbin:x:1:1::/:\n"),
                       DataEntry("etc/inittab", data=b"::sysinit:/sbin/openrc\n")))
    rootfs = skeleton(base, InitSpec("img", ("/bin/app", "--flag x"), "sensor", 1000))
    passwd = rootfs.nodes["etc/passwd"].data.decode()
    assert passwd.startswith("root:x:0:0:r:/root:/bin/ash\nbin:x:1:1::/:\n")
    names = [line.split(":")[0] for line in passwd.splitlines()]
    assert names == ["root", "bin", "nobody", "sensor"]
    assert "sensor:x:1000:1000:" in passwd
    assert b"openrc" not in rootfs.nodes["etc/inittab"].data
    assert b"::respawn:/etc/init.d/entrypoint" in rootfs.nodes["etc/inittab"].data
    script = rootfs.nodes["etc/init.d/entrypoint"].data.decode()
    assert "exec su -s /bin/sh sensor -c '/bin/app '\"'\"'--flag x'\"'\"''" in script
    assert rootfs.nodes["tmp"].mode == 0o1777
    assert rootfs.nodes["home/sensor"].uid == 1000


@pytest.mark.skipif(os.geteuid() != 0, reason="numeric owners need root")
def test_members_and_write_rootfs(tmp_path: Path) -> None:
    rootfs = install(pkg("t", BIN, DataEntry("bin/t", data=b"t", mode=0o4750, uid=0, gid=7),
                         DataEntry("bin/l", "symlink", linkname="/bin/t")),
                     policy=Policy(setuid_allowed=frozenset({"bin/t"})))
    members = {m.arcname: m for m in rootfs_members(rootfs)}
    assert members["rootfs/bin/t"].mode == 0o4750 and members["rootfs/bin/t"].gid == 7
    assert members["rootfs/bin/l"].linkname == "/bin/t"
    target = tmp_path / "root"
    old = os.umask(0o077)
    try:
        write_rootfs(rootfs, target, EPOCH)
    finally:
        os.umask(old)
    st = (target / "bin" / "t").lstat()
    assert stat.S_IMODE(st.st_mode) == 0o4750 and (st.st_uid, st.st_gid) == (0, 7)
    assert int(st.st_mtime) == EPOCH
    assert stat.S_IMODE((target / "bin").stat().st_mode) == 0o755
    assert os.readlink(target / "bin" / "l") == "/bin/t"
    with pytest.raises(Exception, match="not empty"):
        write_rootfs(rootfs, target, EPOCH)
