"""Shared material for the Alpine-path unit tests: keys, packages, the test repository.

Generated once per test process (RSA key generation and packing busybox are
the slow parts) in a temporary directory removed at exit.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from sensorlab.errors import SensorlabError
from sensorlab.images.apk.keys import (
    SigningKey,
    TrustedKeys,
    generate_keypair,
    load_signing_key,
    load_trusted_keys,
)
from sensorlab.images.apk.package import DataEntry, build_apk
from sensorlab.images.apk.pkginfo import PackageInfo
from sensorlab.images.apk.testrepo import GeneratedRepo, find_static_busybox, make_test_repository

EPOCH = 1767225600


@functools.cache
def scratch() -> Path:
    path = Path(tempfile.mkdtemp(prefix="sl-apk-tests-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


@functools.cache
def signing() -> tuple[SigningKey, TrustedKeys]:
    pair = generate_keypair(scratch() / "keys", "unit", bits=2048)
    return load_signing_key(pair.private), load_trusted_keys(scratch() / "keys")


@functools.cache
def other_key() -> SigningKey:
    """A valid key that nobody trusts."""
    return load_signing_key(generate_keypair(scratch() / "other-keys", "evil", bits=2048).private)


def info(name: str, version: str = "1.0-r0", **fields: object) -> PackageInfo:
    return PackageInfo(name=name, version=version, **{"arch": "x86_64", **fields})  # type: ignore[arg-type]


def apk(name: str, entries: list[DataEntry] | None = None, *, version: str = "1.0-r0",
        key: SigningKey | None = None, **fields: object) -> bytes:
    return build_apk(info(name, version, **fields), entries or [], key or signing()[0],
                     mtime=EPOCH)


def require_busybox() -> Path:
    """The static busybox; missing skips on a laptop, fails under CI=true."""
    try:
        return find_static_busybox()
    except SensorlabError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{exc.message} ({exc.hint})")
        pytest.skip(exc.message)


@functools.cache
def _shared_repo() -> GeneratedRepo:
    return make_test_repository(scratch() / "testrepo")


def shared_repo() -> GeneratedRepo:
    require_busybox()
    return _shared_repo()
