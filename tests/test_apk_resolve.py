"""Dependency resolution: names, versions, provides, so:/cmd:, conflicts, order."""

from __future__ import annotations

import pytest
from apk_helpers import info

from sensorlab.images.apk.errors import ResolveError
from sensorlab.images.apk.resolve import Candidate, resolve


def cand(name: str, version: str = "1.0-r0", repo: int = 1, **fields: object) -> Candidate:
    return Candidate(info(name, version, **fields), f"repo{repo}", repo)


def names(result: list[Candidate]) -> list[str]:
    return [c.info.nv for c in result]


UNIVERSE = [
    cand("musl", "1.2.4-r2", provides=("so:libc.musl-x86_64.so.1=1",)),
    cand("busybox", "1.36.1-r5", depends=("so:libc.musl-x86_64.so.1",),
         provides=("cmd:busybox=1.36.1-r5",)),
    cand("busybox-binsh", "1.36.1-r5", depends=("busybox=1.36.1-r5",),
         provides=("/bin/sh", "cmd:sh=1.36.1-r5")),
    cand("libfake", "1.0-r0", provides=("so:libfake.so.1=1.0",)),
    cand("libfake", "1.2-r0", provides=("so:libfake.so.1=1.2",)),
    cand("tool", "2.0-r0", depends=("so:libfake.so.1", "cmd:sh")),
]


def test_so_and_cmd_names() -> None:
    assert names(resolve(["tool"], UNIVERSE)) == [
        "musl-1.2.4-r2", "busybox-1.36.1-r5", "busybox-binsh-1.36.1-r5", "libfake-1.2-r0",
        "tool-2.0-r0"]


def test_highest_version_wins() -> None:
    assert names(resolve(["libfake"], UNIVERSE)) == ["libfake-1.2-r0"]


def test_version_constraint() -> None:
    assert names(resolve(["libfake<1.2"], UNIVERSE)) == ["libfake-1.0-r0"]
    assert names(resolve(["libfake~1.0"], UNIVERSE)) == ["libfake-1.0-r0"]


def test_versioned_provide_constraint() -> None:
    universe = [*UNIVERSE, cand("old", depends=("so:libfake.so.1<1.1",))]
    assert names(resolve(["old"], universe)) == ["libfake-1.0-r0", "old-1.0-r0"]


def test_earlier_repository_wins_a_tie() -> None:
    universe = [cand("x", repo=2, description="second"), cand("x", repo=1, description="first")]
    assert resolve(["x"], universe)[0].info.description == "first"


def test_provider_priority() -> None:
    universe = [cand("sh-a", provides=("shell",), provider_priority=10),
                cand("sh-b", provides=("shell",), provider_priority=20)]
    assert names(resolve(["shell"], universe)) == ["sh-b-1.0-r0"]


def test_unversioned_provide_does_not_satisfy_a_version() -> None:
    universe = [cand("sh-a", provides=("shell",))]
    with pytest.raises(ResolveError, match="nothing provides shell>=1"):
        resolve(["shell>=1"], universe)


def test_already_selected_provider_is_reused() -> None:
    universe = [cand("sh-a", provides=("shell",), provider_priority=1),
                cand("sh-b", provides=("shell",), provider_priority=9),
                cand("app", depends=("shell",))]
    assert names(resolve(["sh-a", "app"], universe)) == ["sh-a-1.0-r0", "app-1.0-r0"]


def test_missing_dependency_names_the_chain() -> None:
    universe = [cand("app", depends=("so:libgone.so.3",))]
    with pytest.raises(ResolveError, match=r"nothing provides so:libgone.so.3 \(required by app"):
        resolve(["app"], universe)


def test_no_version_satisfies() -> None:
    with pytest.raises(ResolveError, match="no version of libfake satisfies libfake>=2"):
        resolve(["libfake>=2"], UNIVERSE)


def test_conflicting_versions() -> None:
    universe = [*UNIVERSE, cand("a", depends=("libfake=1.0-r0",)),
                cand("b", depends=("libfake=1.2-r0",))]
    with pytest.raises(ResolveError, match="libfake"):
        resolve(["a", "b"], universe)


def test_conflict_marker() -> None:
    universe = [cand("a", depends=("!b",)), cand("b")]
    with pytest.raises(ResolveError, match=r"b-1\.0-r0 is selected but conflicts with !b"):
        resolve(["a", "b"], universe)
    assert names(resolve(["a"], universe)) == ["a-1.0-r0"]


def test_arch_filter() -> None:
    universe = [Candidate(info("x", arch="aarch64"), "r", 1)]
    with pytest.raises(ResolveError, match="nothing provides x"):
        resolve(["x"], universe)


def test_cycles_and_determinism() -> None:
    universe = [cand("a", depends=("b",)), cand("b", depends=("a",)), cand("c", depends=("a",))]
    first = names(resolve(["c"], universe))
    assert sorted(first) == ["a-1.0-r0", "b-1.0-r0", "c-1.0-r0"]
    assert first[-1] == "c-1.0-r0"
    for _ in range(3):
        assert names(resolve(["c"], list(reversed(universe)))) == first
