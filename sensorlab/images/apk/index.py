"""Signed repository indexes: APKINDEX.tar.gz = signature segment + tar(DESCRIPTION, APKINDEX).

The signature covers every byte after the signature segment, as
``abuild-sign`` makes it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sensorlab.images.apk.archive import (
    DEFAULT_MAX_UNPACKED,
    file_info,
    gzip_bytes,
    gzip_streams,
    tar_bytes,
    tar_members,
)
from sensorlab.images.apk.errors import FormatError, SignatureError
from sensorlab.images.apk.keys import SigningKey, TrustedKeys, parse_signature_member
from sensorlab.images.apk.package import sign_segment
from sensorlab.images.apk.pkginfo import PackageInfo, parse_index, render_index_entry

INDEX_NAME = "APKINDEX.tar.gz"


def render_index(entries: Sequence[PackageInfo]) -> str:
    """Entries sorted by name then version text, so the bytes depend only on the set."""
    ordered = sorted(entries, key=lambda e: (e.name, e.version, e.checksum))
    return "".join(render_index_entry(e) + "\n" for e in ordered)


def build_index(entries: Sequence[PackageInfo], key: SigningKey, *, description: str,
                mtime: int, algorithm: str = "sha1") -> bytes:
    text = render_index(entries).encode()
    desc = description.encode()
    body = gzip_bytes(tar_bytes(
        [(file_info("DESCRIPTION", desc, mtime), desc), (file_info("APKINDEX", text, mtime), text)],
        cut=False,
    ))
    return sign_segment(body, key, mtime, algorithm) + body


def read_index(blob: bytes, trusted: TrustedKeys, what: str,
               limit: int = DEFAULT_MAX_UNPACKED) -> list[PackageInfo]:
    """Verify and parse an APKINDEX.tar.gz; unsigned or untrusted indexes are refused."""
    streams = gzip_streams(blob, what, limit)
    if len(streams) < 2:
        raise SignatureError(f"{what}: index is not signed")
    signature = None
    for info, content in tar_members(streams[0].data, what):
        parsed = parse_signature_member(info.name)
        if parsed and content is not None:
            signature = (parsed[0], parsed[1], content)
    if signature is None:
        raise SignatureError(f"{what}: index is not signed (no .SIGN.RSA member)")
    signed = b"".join(s.raw for s in streams[1:])
    trusted.verify(signature[0], signature[1], signature[2], signed, what)
    text = None
    for stream in streams[1:]:
        for info, content in tar_members(stream.data, what):
            if info.name == "APKINDEX" and content is not None:
                text = content.decode("utf-8", "replace")
    if text is None:
        raise FormatError(f"{what}: no APKINDEX member")
    return parse_index(text, what)
