"""The lockfile: stable text, round trip, and a clear error when the recipe moved on."""

from __future__ import annotations

import pytest

from sensorlab.images.apk.errors import FormatError, LockMismatchError
from sensorlab.images.apk.lock import (
    LockedPackage,
    check_matches,
    make_lock,
    parse_lock,
    render_lock,
)

LOCK = make_lock(["zeta", "busybox", "busybox"], "x86_64", ["main", "community"], [
    LockedPackage("zeta", "1.0-r0", "Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "community"),
    LockedPackage("busybox", "1.36.1-r5", "Q1BBBBBBBBBBBBBBBBBBBBBBBBBBB=", "main"),
])


def test_round_trip_and_layout() -> None:
    text = render_lock(LOCK)
    assert parse_lock(text, "t") == LOCK
    assert text.splitlines()[1:5] == [
        "version = 1", 'arch = "x86_64"', 'request = ["busybox", "zeta"]',
        'repositories = ["main", "community"]']
    assert text.index('name = "busybox"') < text.index('name = "zeta"')
    assert render_lock(parse_lock(text, "t")) == text


def test_matches() -> None:
    check_matches(LOCK, ["busybox", "zeta"], "x86_64", ["main", "community", "extra"], "l")


def test_added_and_removed_packages() -> None:
    with pytest.raises(LockMismatchError, match=r"asks for curl; .* no longer asks for zeta") as e:
        check_matches(LOCK, ["busybox", "curl"], "x86_64", ["main", "community"], "x.lock")
    assert "x.lock" in e.value.message and e.value.hint and "--update-lock" in e.value.hint


def test_arch_and_repository_changes() -> None:
    with pytest.raises(LockMismatchError, match="arch is aarch64"):
        check_matches(LOCK, ["busybox", "zeta"], "aarch64", ["main", "community"], "l")
    with pytest.raises(LockMismatchError, match="no longer has: community"):
        check_matches(LOCK, ["busybox", "zeta"], "x86_64", ["main"], "l")


@pytest.mark.parametrize("text", ["version = 2\n", "not toml [", "version = 1\n"])
def test_malformed(text: str) -> None:
    with pytest.raises(FormatError, match="lockfile t"):
        parse_lock(text, "t")
