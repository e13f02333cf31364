"""Turn a planned ``Rootfs`` into tar members or a directory on disk."""

from __future__ import annotations

import os
from pathlib import Path

from sensorlab.errors import SensorlabError
from sensorlab.images.apk.install import Rootfs
from sensorlab.images.tarball import Member


def rootfs_members(rootfs: Rootfs, prefix: str = "rootfs") -> list[Member]:
    """Members for the LXD image; no file system round trip, so no umask or owner drift."""
    members = [Member(arcname=prefix, mode=0o755)]
    for path in sorted(rootfs.nodes):
        node = rootfs.nodes[path]
        arcname = f"{prefix}/{path}"
        if node.kind == "dir":
            members.append(Member(arcname, mode=node.mode, uid=node.uid, gid=node.gid))
        elif node.kind == "symlink":
            members.append(Member(arcname, linkname=node.linkname, uid=node.uid, gid=node.gid))
        else:
            members.append(Member(arcname, data=node.data, mode=node.mode, uid=node.uid,
                                  gid=node.gid))
    return members


def write_rootfs(rootfs: Rootfs, target: Path, mtime: int) -> None:
    """Materialise into an empty directory (numeric owners need root).

    Never follows a symlink: every file is created with O_EXCL|O_NOFOLLOW, and
    the plan already guarantees no path passes through a link.
    """
    if target.exists() and any(target.iterdir()):
        raise SensorlabError(f"rootfs target {target} is not empty")
    target.mkdir(parents=True, exist_ok=True)
    os.chmod(target, 0o755)
    dirs = []
    for path in sorted(rootfs.nodes):
        node = rootfs.nodes[path]
        dest = target / path
        if node.kind == "dir":
            dest.mkdir()
            dirs.append(node)
        elif node.kind == "symlink":
            os.symlink(node.linkname, dest)
            os.lchown(dest, node.uid, node.gid)
            os.utime(dest, (mtime, mtime), follow_symlinks=False)
        else:
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(node.data)
                handle.flush()
                os.fchown(fd, node.uid, node.gid)
                os.fchmod(fd, node.mode)  # after chown, which clears setuid bits
            os.utime(dest, (mtime, mtime))
    for node in reversed(dirs):
        dest = target / node.path
        os.chown(dest, node.uid, node.gid)
        os.chmod(dest, node.mode)
        os.utime(dest, (mtime, mtime))
    os.utime(target, (mtime, mtime))
