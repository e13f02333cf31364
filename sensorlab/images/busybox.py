"""A minimal instrument image: a static busybox plus the instrument's payload.

This is the walking skeleton's image path; the Alpine path (signed .apk
packages, lockfile, SBOM) builds on the same tarball writer.
"""

from __future__ import annotations

from pathlib import Path

from sensorlab.images.lxdimage import ImageInfo, metadata_member, overlay_members
from sensorlab.images.tarball import Member, merge
from sensorlab.run import run

BASE_DIRS = ("bin", "dev", "etc", "proc", "root", "run", "sbin", "sys", "tmp",
             "usr", "usr/bin", "usr/sbin", "var", "var/log")


def applet_paths(busybox: Path) -> list[str]:
    """Paths busybox installs its applets at, e.g. ``usr/bin/awk``."""
    listing = run([busybox, "--list-full"]).stdout
    return sorted(line.strip() for line in listing.splitlines() if line.strip())


def busybox_members(busybox: Path, applets: list[str]) -> list[Member]:
    members = [Member(arcname="rootfs", mode=0o755)]
    members += [Member(arcname=f"rootfs/{d}", mode=0o1777 if d == "tmp" else 0o755)
                for d in BASE_DIRS]
    members.append(Member(arcname="rootfs/bin/busybox", data=busybox.read_bytes(), mode=0o755))
    for applet in applets:
        if applet == "bin/busybox":
            continue
        depth = applet.count("/")
        members.append(Member(arcname=f"rootfs/{applet}", linkname="../" * depth + "bin/busybox"))
    # busybox's own init reads /etc/inittab from the payload.
    members.append(Member(arcname="rootfs/sbin/init", linkname="../bin/busybox"))
    return members


def image_members(name: str, busybox: Path, payload: Path, applets: list[str]) -> list[Member]:
    info = ImageInfo(name=name, description=f"sensorlab instrument {name} (busybox)",
                     os="busybox", release="static")
    return merge(
        [metadata_member(info)],
        busybox_members(busybox, applets),
        overlay_members(payload) if payload.is_dir() else [],
    )
