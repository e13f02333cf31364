"""The apk v2 container: concatenated gzip streams holding tar segments.

A package is three gzip streams: a signature segment (one ``.SIGN.RSA.*``
member signing the control stream), the control segment (``.PKGINFO`` and
install scripts) and the data segment (the files). The first two are tars
without the end-of-archive blocks, so the three decompress to one valid tar;
an APKINDEX.tar.gz is a signature segment plus one ordinary tar.gz.

Identity: the index checksum is ``Q1`` + base64(sha1(control stream)) and
``.PKGINFO``'s ``datahash`` is sha256(data stream), so the signature covers
the control segment, which pins the data.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import tarfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sensorlab.images.apk.errors import FormatError

_CHUNK = 1 << 20
DEFAULT_MAX_UNPACKED = 1 << 30


def q1(data: bytes) -> str:
    """apk's checksum notation: ``Q1`` + base64 of a SHA-1 digest."""
    return "Q1" + base64.b64encode(hashlib.sha1(data).digest()).decode()


def q1_hex(checksum: str) -> str:
    """``Q1...`` -> hex SHA-1 (cache file names, SPDX checksums)."""
    if not checksum.startswith("Q1"):
        raise FormatError(f"unsupported checksum {checksum!r} (only Q1/SHA-1 is supported)")
    try:
        raw = base64.b64decode(checksum[2:], validate=True)
    except ValueError as exc:
        raise FormatError(f"malformed checksum {checksum!r}") from exc
    if len(raw) != 20:
        raise FormatError(f"malformed checksum {checksum!r}")
    return raw.hex()


@dataclass(frozen=True)
class Stream:
    raw: bytes  # the gzip member exactly as stored
    data: bytes  # decompressed


def gzip_streams(blob: bytes, what: str, limit: int = DEFAULT_MAX_UNPACKED) -> list[Stream]:
    """Split concatenated gzip members, refusing more than ``limit`` bytes unpacked."""
    streams: list[Stream] = []
    view = memoryview(blob)
    pos, total = 0, 0
    while pos < len(blob):
        inflater = zlib.decompressobj(wbits=31)
        pending: bytes | memoryview = view[pos:]
        parts: list[bytes] = []
        try:
            while not inflater.eof:
                out = inflater.decompress(pending, _CHUNK)
                total += len(out)
                if total > limit:
                    raise FormatError(f"{what}: unpacks to more than {limit} bytes",
                                      hint="a decompression bomb, or raise the size limit")
                parts.append(out)
                pending = inflater.unconsumed_tail
                if not out and not pending and not inflater.eof:
                    raise FormatError(f"{what}: truncated gzip stream")
        except zlib.error as exc:
            raise FormatError(f"{what}: corrupt gzip stream: {exc}") from exc
        end = len(blob) - len(inflater.unused_data)
        streams.append(Stream(raw=bytes(view[pos:end]), data=b"".join(parts)))
        pos = end
    if not streams:
        raise FormatError(f"{what}: empty file")
    return streams


def gzip_bytes(data: bytes) -> bytes:
    # mtime=0 and a fixed level: same input, same bytes.
    return gzip.compress(data, compresslevel=9, mtime=0)


def tar_bytes(entries: Sequence[tuple[tarfile.TarInfo, bytes | None]], *, cut: bool) -> bytes:
    """A PAX tar of ``entries`` in the given order; ``cut`` drops the end blocks."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
        # addfile() has written every header and block; closing only appends
        # the end-of-archive blocks that a cut segment must not have.
        written = buffer.getvalue()
    return written if cut else buffer.getvalue()


def file_info(name: str, data: bytes, mtime: int, mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), mtime, mode
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def tar_members(data: bytes, what: str) -> Iterator[tuple[tarfile.TarInfo, bytes | None]]:
    """Members of an uncompressed tar with their content (None for non-files)."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for info in tar:
                content = None
                if info.isreg():
                    handle = tar.extractfile(info)
                    content = handle.read() if handle else b""
                yield info, content
    except tarfile.TarError as exc:
        raise FormatError(f"{what}: corrupt tar: {exc}") from exc
