"""LXD unified image tarballs: metadata.yaml plus rootfs/, written deterministically."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sensorlab.images.tarball import Member, source_date_epoch


@dataclass(frozen=True)
class ImageInfo:
    name: str
    description: str
    os: str
    release: str


def metadata_member(info: ImageInfo) -> Member:
    # creation_date comes from SOURCE_DATE_EPOCH so rebuilds agree to the byte.
    text = (
        "architecture: x86_64\n"
        f"creation_date: {source_date_epoch()}\n"
        "properties:\n"
        f"  description: {json.dumps(info.description)}\n"
        f"  os: {json.dumps(info.os)}\n"
        f"  release: {json.dumps(info.release)}\n"
        f"  name: {json.dumps(info.name)}\n"
    )
    return Member(arcname="metadata.yaml", data=text.encode())


def overlay_members(root: Path, prefix: str = "rootfs") -> list[Member]:
    """Files from a git-tracked overlay tree, owned by root.

    Modes are normalised to 0755/0644 from the executable bit alone: git keeps
    nothing else, and the checkout's umask must not reach the image.
    """
    members: list[Member] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(dirpath)
        rel_dir = base.relative_to(root).as_posix()
        if rel_dir != ".":
            members.append(Member(arcname=f"{prefix}/{rel_dir}", mode=0o755))
        for name in sorted(filenames):
            path = base / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                members.append(Member(arcname=f"{prefix}/{rel}", linkname=os.readlink(path)))
                continue
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            members.append(Member(arcname=f"{prefix}/{rel}", data=path.read_bytes(), mode=mode))
    return members


def hash_inputs(parts: Iterable[tuple[str, bytes]]) -> str:
    """One digest over named inputs; used to skip builds whose inputs did not change."""
    digest = hashlib.sha256(f"epoch={source_date_epoch()}".encode())
    for name, data in sorted(parts):
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def tree_inputs(root: Path, label: str) -> list[tuple[str, bytes]]:
    parts = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            mode = b"x" if os.access(path, os.X_OK) else b"-"
            parts.append((f"{label}/{path.relative_to(root).as_posix()}", mode + path.read_bytes()))
    return parts
