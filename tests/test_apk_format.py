"""apk v2 packages and signed indexes: round trips, signatures, checksums."""

from __future__ import annotations

import base64
import gzip
import hashlib

import pytest
from apk_helpers import EPOCH, apk, info, other_key, signing

from sensorlab.images.apk.archive import (
    file_info,
    gzip_bytes,
    gzip_streams,
    q1,
    q1_hex,
    tar_bytes,
)
from sensorlab.images.apk.errors import ChecksumError, FormatError, SignatureError
from sensorlab.images.apk.index import build_index, read_index, render_index
from sensorlab.images.apk.keys import sign, signature_member
from sensorlab.images.apk.package import DataEntry, read_apk, verify_apk
from sensorlab.images.apk.pkginfo import (
    PackageInfo,
    parse_dependency,
    parse_index,
    parse_pkginfo,
    render_index_entry,
    render_pkginfo,
)

FILES = [DataEntry("usr", "dir", 0o755), DataEntry("usr/bin", "dir", 0o755),
         DataEntry("usr/bin/tool", data=b"#!/bin/sh\n", mode=0o755),
         DataEntry("usr/bin/alias", "symlink", linkname="tool")]


def test_package_round_trip() -> None:
    blob = apk("tool", FILES, depends=("so:libc.musl-x86_64.so.1", "cmd:sh"),
               provides=("cmd:tool=1.0-r0",), license="MIT", description="a tool")
    parsed = read_apk(blob, "test")
    assert parsed.info.name == "tool" and parsed.info.version == "1.0-r0"
    assert parsed.info.depends == ("so:libc.musl-x86_64.so.1", "cmd:sh")
    assert parsed.info.provides == ("cmd:tool=1.0-r0",)
    assert parsed.info.installed_size == len(b"#!/bin/sh\n")
    assert parsed.info.builddate == EPOCH
    assert parsed.info.file_size == len(blob)
    verify_apk(parsed, signing()[1])


def test_three_gzip_streams_and_identity() -> None:
    blob = apk("tool", FILES)
    streams = gzip_streams(blob, "test")
    assert len(streams) == 3
    assert b"".join(s.raw for s in streams) == blob
    sig_tar, control_tar, _ = (s.data for s in streams)
    # Signature and control segments are cut tars: no end-of-archive blocks.
    assert not sig_tar.endswith(b"\0" * 1024) and not control_tar.endswith(b"\0" * 1024)
    parsed = read_apk(blob, "test")
    assert parsed.checksum == "Q1" + base64.b64encode(
        hashlib.sha1(streams[1].raw).digest()).decode()
    assert parsed.info.datahash == hashlib.sha256(streams[2].raw).hexdigest()
    # Concatenated, the segments are one valid tar stream, as apk relies on.
    assert b".PKGINFO" in gzip.decompress(blob)


def test_building_is_deterministic() -> None:
    assert apk("tool", FILES) == apk("tool", FILES)


def test_untrusted_key_is_refused() -> None:
    parsed = read_apk(apk("tool", FILES, key=other_key()), "test")
    with pytest.raises(SignatureError, match=r"package tool-1\.0-r0: signed by untrusted key"):
        verify_apk(parsed, signing()[1])


def test_forged_signature_is_refused() -> None:
    """Signed by another key but claiming the trusted key's name."""
    streams = gzip_streams(apk("tool", FILES), "t")
    value = sign(other_key(), streams[1].raw)
    member = file_info(signature_member(signing()[0].name), value, EPOCH)
    forged = gzip_bytes(tar_bytes([(member, value)], cut=True))
    with pytest.raises(SignatureError, match="does not verify"):
        verify_apk(read_apk(forged + streams[1].raw + streams[2].raw, "test"), signing()[1])


def test_corrupted_signature_is_refused() -> None:
    streams = gzip_streams(apk("tool", FILES), "t")
    sig = bytearray(streams[0].data)
    sig[600] ^= 0xFF  # inside the signature value, after the 512-byte header
    tampered = gzip_bytes(bytes(sig)) + streams[1].raw + streams[2].raw
    with pytest.raises(SignatureError, match="does not verify"):
        verify_apk(read_apk(tampered, "test"), signing()[1])


def test_unsigned_package_is_refused() -> None:
    streams = gzip_streams(apk("tool", FILES), "t")
    unsigned = streams[1].raw + streams[2].raw
    with pytest.raises(SignatureError, match="not signed"):
        verify_apk(read_apk(unsigned, "test"), signing()[1])


def test_swapped_data_segment_fails_datahash() -> None:
    one = gzip_streams(apk("tool", FILES), "a")
    two = gzip_streams(apk("tool", [DataEntry("evil", data=b"x")]), "b")
    spliced = one[0].raw + one[1].raw + two[2].raw
    with pytest.raises(ChecksumError, match=r"package tool-1\.0-r0: data segment"):
        verify_apk(read_apk(spliced, "test"), signing()[1])


def test_checksum_must_match_expected() -> None:
    parsed = read_apk(apk("tool", FILES), "test")
    with pytest.raises(ChecksumError, match=r"package tool-1\.0-r0: checksum .* the lock"):
        verify_apk(parsed, signing()[1], expected_checksum=q1(b"other"), origin="the lock")


def test_decompression_limit() -> None:
    with pytest.raises(FormatError, match="unpacks to more than"):
        gzip_streams(gzip_bytes(b"\0" * 100_000), "bomb", limit=10_000)


def test_garbage_is_a_format_error() -> None:
    with pytest.raises(FormatError, match="corrupt gzip"):
        read_apk(b"not a package at all", "junk")


def test_pkginfo_round_trip() -> None:
    meta = PackageInfo(name="x", version="2.1-r3", arch="x86_64", description="d", url="u",
                       license="MIT", origin="x", builddate=7, installed_size=9,
                       depends=("a>=1", "!b"), provides=("so:x.so.1=2.1",), datahash="ab")
    assert parse_pkginfo(render_pkginfo(meta), "t") == meta


def test_index_entry_round_trip() -> None:
    entry = info("x", "2.1-r3", checksum=q1(b"c"), file_size=10, installed_size=20,
                 description="d", license="MIT", depends=("so:a.so.1", "cmd:sh"),
                 provides=("p=1",), provider_priority=5)
    text = render_index_entry(entry)
    assert text.startswith(f"C:{entry.checksum}\nP:x\nV:2.1-r3\nA:x86_64\nS:10\nI:20\n")
    assert parse_index(text, "t") == [entry]


def test_signed_index_round_trip() -> None:
    key, trusted = signing()
    entries = [read_apk(apk(n, FILES), n).info for n in ("b", "a")]
    blob = build_index(entries, key, description="test", mtime=EPOCH)
    parsed = read_index(blob, trusted, "index")
    assert [e.name for e in parsed] == ["a", "b"]
    assert render_index(parsed) == render_index(entries)


def test_index_signed_by_untrusted_key() -> None:
    blob = build_index([], other_key(), description="test", mtime=EPOCH)
    with pytest.raises(SignatureError, match="index: signed by untrusted key"):
        read_index(blob, signing()[1], "index")


def test_tampered_index() -> None:
    key, trusted = signing()
    blob = build_index([read_apk(apk("a", FILES), "a").info], key, description="t", mtime=EPOCH)
    streams = gzip_streams(blob, "i")
    body = streams[1].data.replace(b"P:a\n", b"P:z\n")
    with pytest.raises(SignatureError, match="does not verify"):
        read_index(streams[0].raw + gzip_bytes(body), trusted, "index")


def test_q1_hex() -> None:
    assert q1_hex(q1(b"abc")) == hashlib.sha1(b"abc").hexdigest()
    with pytest.raises(FormatError):
        q1_hex("X1abc")


def test_dependency_syntax() -> None:
    assert parse_dependency("so:libc.musl-x86_64.so.1").name == "so:libc.musl-x86_64.so.1"
    dep = parse_dependency("busybox>=1.36")
    assert (dep.name, dep.op, dep.version) == ("busybox", ">=", "1.36")
    assert parse_dependency("!foo").conflict
    assert str(parse_dependency("a~1.2")) == "a~1.2"
    with pytest.raises(FormatError, match="cannot parse") as caught:
        parse_dependency("foo@edge")
    assert caught.value.hint is not None and "repository tags" in caught.value.hint
