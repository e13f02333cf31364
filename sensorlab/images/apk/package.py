"""Reading, verifying and writing .apk packages (apk v2 format).

Reading is split from trusting: ``read_apk`` parses the three segments and
``verify_apk`` checks the signature against trusted keys and the data
stream against ``datahash``. The installer only accepts verified packages.
"""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from sensorlab.images.apk.archive import (
    DEFAULT_MAX_UNPACKED,
    file_info,
    gzip_bytes,
    gzip_streams,
    q1,
    tar_bytes,
    tar_members,
)
from sensorlab.images.apk.errors import ChecksumError, FormatError, SignatureError
from sensorlab.images.apk.keys import (
    SigningKey,
    TrustedKeys,
    parse_signature_member,
    sign,
    signature_member,
)
from sensorlab.images.apk.pkginfo import PackageInfo, parse_pkginfo, render_pkginfo

SCRIPT_NAMES = (
    ".pre-install", ".post-install", ".pre-upgrade", ".post-upgrade",
    ".pre-deinstall", ".post-deinstall", ".trigger",
)
PAX_SHA1 = "APK-TOOLS.checksum.SHA1"


@dataclass(frozen=True)
class Signature:
    key_name: str
    algorithm: str
    value: bytes


@dataclass(frozen=True)
class ApkFile:
    """A parsed package. ``info.checksum`` and ``info.file_size`` are filled in."""

    info: PackageInfo
    signature: Signature | None
    control: bytes  # raw gzip stream
    data: bytes  # raw gzip stream
    data_tar: bytes  # decompressed data segment
    scripts: tuple[tuple[str, bytes], ...]

    @property
    def checksum(self) -> str:
        return self.info.checksum


def _signature(entries: list[tuple[tarfile.TarInfo, bytes | None]], what: str) -> Signature:
    for info, content in entries:
        parsed = parse_signature_member(info.name)
        if parsed and content is not None:
            return Signature(parsed[0], parsed[1], content)
    raise SignatureError(f"{what}: signature segment has no .SIGN.RSA member")


def read_apk(blob: bytes, what: str, limit: int = DEFAULT_MAX_UNPACKED) -> ApkFile:
    """Parse a package; ``what`` names it in errors (e.g. ``package busybox-1.36``)."""
    streams = gzip_streams(blob, what, limit)
    if len(streams) == 3:
        sig_stream, control, data = streams
        signature: Signature | None = _signature(list(tar_members(sig_stream.data, what)), what)
    elif len(streams) == 2:
        (control, data), signature = streams, None
    else:
        raise FormatError(f"{what}: expected 2 or 3 gzip streams, found {len(streams)}")
    pkginfo, scripts = None, []
    for member, content in tar_members(control.data, what):
        if member.name == ".PKGINFO" and content is not None:
            pkginfo = parse_pkginfo(content.decode("utf-8", "replace"), what)
        elif member.name in SCRIPT_NAMES and content is not None:
            scripts.append((member.name[1:], content))
    if pkginfo is None:
        raise FormatError(f"{what}: control segment has no .PKGINFO")
    info = replace(pkginfo, checksum=q1(control.raw), file_size=len(blob))
    return ApkFile(info=info, signature=signature, control=control.raw, data=data.raw,
                   data_tar=data.data, scripts=tuple(scripts))


def verify_apk(apk: ApkFile, trusted: TrustedKeys, expected_checksum: str | None = None,
               origin: str = "") -> None:
    """Raise unless signed by a trusted key, intact, and (if given) the expected package."""
    what = f"package {apk.info.nv}"
    if expected_checksum is not None and apk.checksum != expected_checksum:
        raise ChecksumError(
            f"{what}: checksum {apk.checksum} does not match {origin or 'the expected'} "
            f"checksum {expected_checksum}",
            hint="the package changed after it was indexed or locked; do not trust it",
        )
    if apk.signature is None:
        raise SignatureError(f"{what}: package is not signed")
    sig = apk.signature
    trusted.verify(sig.key_name, sig.algorithm, sig.value, apk.control, what)
    if not apk.info.datahash:
        raise SignatureError(f"{what}: .PKGINFO has no datahash, so the files are unsigned")
    if hashlib.sha256(apk.data).hexdigest() != apk.info.datahash:
        raise ChecksumError(f"{what}: data segment does not match the signed datahash")


@dataclass(frozen=True)
class DataEntry:
    """One member of a package's data segment. The builder does not judge it:
    tests build hostile packages with it, and the installer rejects them."""

    path: str
    kind: str = "file"  # file | dir | symlink | hardlink | chardev | blockdev | fifo
    mode: int = 0o644
    data: bytes = b""
    linkname: str = ""
    uid: int = 0
    gid: int = 0
    pax_sha1: str | None = None  # override the recorded checksum (tests)


_KINDS = {
    "file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE, "chardev": tarfile.CHRTYPE, "blockdev": tarfile.BLKTYPE,
    "fifo": tarfile.FIFOTYPE,
}


def _data_member(entry: DataEntry, mtime: int) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(entry.path)
    info.type = _KINDS[entry.kind]
    info.mode, info.uid, info.gid, info.mtime = entry.mode, entry.uid, entry.gid, mtime
    info.uname = info.gname = ""
    data: bytes | None = None
    if entry.kind == "file":
        data = entry.data
        info.size = len(data)
        digest = hashlib.sha1(data).hexdigest()
    elif entry.kind == "symlink":
        info.linkname = entry.linkname
        digest = hashlib.sha1(entry.linkname.encode()).hexdigest()
    else:
        # abuild-tar records no checksum for hard links, directories or nodes.
        info.linkname = entry.linkname
        digest = ""
    if entry.pax_sha1 is not None or digest:
        # abuild-tar records a per-file checksum; apk copies it into the db.
        info.pax_headers = {PAX_SHA1: entry.pax_sha1 if entry.pax_sha1 is not None else digest}
    return info, data


def build_apk(meta: PackageInfo, entries: Sequence[DataEntry], key: SigningKey, *,
              mtime: int, scripts: Mapping[str, bytes] | None = None,
              algorithm: str = "sha1") -> bytes:
    """A signed package. ``meta.installed_size`` and ``datahash`` are computed here."""
    data_tar = tar_bytes([_data_member(e, mtime) for e in entries], cut=False)
    data = gzip_bytes(data_tar)
    size = sum(len(e.data) for e in entries if e.kind == "file")
    info = replace(meta, installed_size=size, builddate=mtime,
                   datahash=hashlib.sha256(data).hexdigest())
    pkginfo = render_pkginfo(info).encode()
    control_entries: list[tuple[tarfile.TarInfo, bytes | None]] = [
        (file_info(".PKGINFO", pkginfo, mtime), pkginfo)]
    for name, body in sorted((scripts or {}).items()):
        if f".{name}" not in SCRIPT_NAMES:
            raise FormatError(f"package {info.nv}: unknown install script {name!r}")
        control_entries.append((file_info(f".{name}", body, mtime, 0o755), body))
    control = gzip_bytes(tar_bytes(control_entries, cut=True))
    return sign_segment(control, key, mtime, algorithm) + control + data


def sign_segment(signed: bytes, key: SigningKey, mtime: int, algorithm: str = "sha1") -> bytes:
    """The gzip'd, cut signature tar that precedes ``signed``."""
    value = sign(key, signed, algorithm)
    member = file_info(signature_member(key.name, algorithm), value, mtime)
    return gzip_bytes(tar_bytes([(member, value)], cut=True))
