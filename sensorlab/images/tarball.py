"""Deterministic tar archives: the same tree gives the same bytes.

Entries are sorted, owners are numeric, times are clamped to
SOURCE_DATE_EPOCH and the format is fixed (GNU), so two builds in different
directories, at different times and under different umasks agree to the byte.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

# Used when SOURCE_DATE_EPOCH is unset (2026-01-01T00:00:00Z). Not 0: LXD
# rejects an image whose creation_date is 0 as having none.
DEFAULT_EPOCH = 1767225600


def source_date_epoch() -> int:
    value = os.environ.get("SOURCE_DATE_EPOCH")
    return int(value) if value and value.isdigit() else DEFAULT_EPOCH


@dataclass(frozen=True)
class Member:
    """One entry to add: a path in the archive and where its content comes from."""

    arcname: str
    source: Path | None = None  # file system object to copy (type, mode, content)
    # With neither source, data nor linkname the member is a directory.
    data: bytes | None = None  # or literal file content
    linkname: str | None = None  # or a symlink to this target
    mode: int = 0o644
    uid: int = 0
    gid: int = 0


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            yield Path(dirpath) / name


def tree_members(root: Path, prefix: str, exclude: Callable[[str], bool] | None = None
                 ) -> list[Member]:
    """Every object below ``root``, archived under ``prefix``."""
    members = [Member(arcname=prefix, source=root)]
    for path in _walk(root):
        rel = path.relative_to(root).as_posix()
        if exclude and exclude(rel):
            continue
        members.append(Member(arcname=f"{prefix}/{rel}", source=path))
    return members


def _tarinfo(member: Member, mtime: int) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(member.arcname)
    info.mtime = mtime
    info.uname = info.gname = ""
    if member.linkname is not None:
        info.type = tarfile.SYMTYPE
        info.linkname = member.linkname
        info.mode = 0o777
        info.uid, info.gid = member.uid, member.gid
        return info, None
    if member.source is None and member.data is None:
        info.type = tarfile.DIRTYPE
        info.mode = member.mode
        info.uid, info.gid = member.uid, member.gid
        return info, None
    if member.source is None:
        literal = member.data or b""
        info.type = tarfile.REGTYPE
        info.size = len(literal)
        info.mode = member.mode
        info.uid, info.gid = member.uid, member.gid
        return info, literal
    st = member.source.lstat()
    # Keep ownership and mode bits from the tree (a rootfs has real owners and
    # setuid bits) but never the build's umask-dependent group/other bits on
    # files we wrote ourselves: those come in as Member(data=...).
    info.uid, info.gid = st.st_uid, st.st_gid
    info.mode = stat.S_IMODE(st.st_mode)
    info.mtime = min(int(st.st_mtime), mtime)
    data: bytes | None = None
    if stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
    elif stat.S_ISLNK(st.st_mode):
        info.type = tarfile.SYMTYPE
        info.linkname = os.readlink(member.source)
    elif stat.S_ISREG(st.st_mode):
        info.type = tarfile.REGTYPE
        data = member.source.read_bytes()
        info.size = len(data)
    elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        info.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    elif stat.S_ISFIFO(st.st_mode):
        info.type = tarfile.FIFOTYPE
    else:
        raise ValueError(f"cannot archive {member.source}: unsupported file type")
    return info, data


def merge(*layers: list[Member]) -> list[Member]:
    """Later layers replace earlier members with the same archive name."""
    by_name: dict[str, Member] = {}
    for layer in layers:
        for member in layer:
            by_name[member.arcname] = member
    return list(by_name.values())


def write_tar(out: Path, members: list[Member], *, compress: bool = False,
              mtime: int | None = None) -> None:
    """Write ``members`` (sorted by name) to ``out``; gzip without timestamps if asked."""
    clamp = source_date_epoch() if mtime is None else mtime
    buffer = io.BytesIO()
    # Hard links are stored as copies: simpler and still deterministic.
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for member in sorted(members, key=lambda m: m.arcname):
            info, data = _tarinfo(member, clamp)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    payload = buffer.getvalue()
    if compress:
        payload = gzip.compress(payload, compresslevel=9, mtime=0)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(payload)
    os.chmod(tmp, 0o644)
    tmp.replace(out)
