"""apk version ordering, as apk-tools orders versions."""

from __future__ import annotations

import pytest

from sensorlab.images.apk import version

ORDERED = [
    ("1.0", "1.1"), ("1.0_rc1", "1.0"), ("1.0", "1.0_p1"), ("1.0-r0", "1.0-r1"),
    ("1.0", "1.0-r0"), ("1.001", "1.01"), ("1.01", "1.1"), ("1.0", "1.0a"), ("1.0a", "1.0b"),
    ("2.9", "2.10"), ("1.2", "1.2.3"), ("1.2_alpha", "1.2_beta"), ("1.2_beta", "1.2_pre"),
    ("1.2_pre", "1.2_rc"), ("1.2_cvs", "1.2_svn"), ("1.2_git", "1.2_hg"), ("1.2_hg", "1.2_p"),
    ("1.2_rc9", "1.2"), ("0.9", "0.10"), ("1.36.1-r5", "1.36.1-r10"),
]


@pytest.mark.parametrize(("low", "high"), ORDERED)
def test_order(low: str, high: str) -> None:
    assert version.compare(low, high) == version.LESS
    assert version.compare(high, low) == version.GREATER
    assert version.compare(low, low) == version.EQUAL


@pytest.mark.parametrize("text", ["1", "1.2.3", "1.2.3b", "1.2_rc1-r4", "2023.10.1_p3-r0"])
def test_valid(text: str) -> None:
    assert version.is_valid(text)


@pytest.mark.parametrize("text", ["", "abc", "1.2-", "1.2_zz", "1.2-x3", "1.2 3"])
def test_invalid(text: str) -> None:
    assert not version.is_valid(text)


def test_operators() -> None:
    assert version.matches("1.2.7-r1", "~", "1.2")
    assert not version.matches("1.3", "~", "1.2")
    assert version.matches("1.2", ">=", "1.2")
    assert version.matches("1.2", "<=", "1.2")
    assert version.matches("1.10", ">", "1.9")
    assert not version.matches("1.10", "<", "1.9")
    assert version.matches("1.0-r0", "=", "1.0-r0")


def test_sort_key() -> None:
    assert sorted(["1.10", "1.9", "1.9_rc1", "1.9-r1"], key=version.sort_key) == [
        "1.9_rc1", "1.9", "1.9-r1", "1.10"]
