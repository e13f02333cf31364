"""Storage isolation, from inside instrument A (root there): B's volumes, the
platform's data and keys and the host are out of reach; A's data is encrypted
on disk and capped; transient dies with a restart; retention sweeps.

Each negative test has a twin that removes one enforcement and sees the leak.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from integration.storage_helpers import (
    appliance,
    appliance_rootfs_on_host,
    idmap_base,
    inside,
    pair,
    plaintext_hits,
    platform,
)
from sensorlab import names
from sensorlab.spec import Deployment, InstrumentSpec

pytestmark = [pytest.mark.integration, pytest.mark.storage]

P, T = names.INSTRUMENT_PERSISTENT_DIR, names.INSTRUMENT_TRANSIENT_DIR
# Everything A can see, minus the kernel's views of its own processes and devices.
# The canary arrives on stdin, so no file in A holds it but the ones searched for.
SEARCH_A = ('C=$(cat); for d in /*; do case $d in /proc|/sys|/dev) ;; *) '
            'grep -rlF "$C" $d 2>/dev/null;; esac; done; true')


@pytest.fixture
def ab(deployment: Deployment) -> tuple[InstrumentSpec, InstrumentSpec]:
    return pair(deployment)


@pytest.fixture
def canary(tag: str) -> str:
    return f"SLCANARY-{tag}"


@pytest.fixture
def leaked_b_into_a(ab: tuple[InstrumentSpec, InstrumentSpec]) -> Iterator[str]:
    """The twin's broken enforcement: B's persistent volume also mounted into A."""
    a, b = ab
    appliance("lxc", "config", "device", "add", a.container, "leak", "disk",
              f"source={b.storage.persistent_mount}", "path=/leak")
    yield "/leak"
    appliance("lxc", "config", "device", "remove", a.container, "leak", check=False)


def _plant(canary: str, a: InstrumentSpec, b: InstrumentSpec) -> None:
    for path in (f"{P}/b-canary", f"{T}/b-canary"):
        inside(b, f"cat > {path}", stdin=canary + "\n")
    appliance("sh", "-c", f"cat > {names.PLATFORM_STATE_DIR}/platform-canary", stdin=canary)
    appliance("sh", "-c", f"cat > {names.KEYSTORE_DIR}/zz-canary", stdin=canary)


def _unplant(b: InstrumentSpec) -> None:
    inside(b, f"rm -f {P}/b-canary {T}/b-canary")
    appliance("rm", "-f", f"{names.PLATFORM_STATE_DIR}/platform-canary",
              f"{names.KEYSTORE_DIR}/zz-canary")


def test_from_a_there_is_no_path_to_b_the_platform_its_keys_or_the_host(
        ab: tuple[InstrumentSpec, InstrumentSpec], canary: str) -> None:
    a, b = ab
    host_canary = f"/tmp/sl-host-canary-{canary[-8:]}"
    with open(host_canary, "w") as handle:
        handle.write(canary)
    _plant(canary, a, b)
    try:
        assert inside(a, SEARCH_A, stdin=canary).stdout.split() == []
        for path in (names.KEYSTORE_DIR, names.VOLUMES_DIR, b.storage.persistent_mount,
                     b.storage.transient_mount, host_canary, names.DEPLOY_SPEC_PATH):
            assert inside(a, f"test -e {path}", check=False).returncode != 0, path
        mounts = inside(a, "cat /proc/self/mountinfo").stdout
        assert b.name not in mounts and names.KEYSTORE_DIR not in mounts
    finally:
        _unplant(b)
        os.unlink(host_canary)


def test_twin_a_mount_of_b_in_a_is_a_path_but_belongs_to_a_stranger(
        ab: tuple[InstrumentSpec, InstrumentSpec], canary: str, leaked_b_into_a: str) -> None:
    a, b = ab
    _plant(canary, a, b)
    try:
        # The leak: A now has a path to B's volume ...
        assert inside(a, f"test -d {leaked_b_into_a}", check=False).returncode == 0
        # ... but it is owned by B's idmap root, which is nobody in A's namespace.
        assert inside(a, f"stat -c %u {leaked_b_into_a}").stdout.strip() == "65534"
        assert inside(a, f"cat {leaked_b_into_a}/b-canary", check=False).returncode != 0
        assert inside(a, SEARCH_A, stdin=canary).stdout.split() == []
    finally:
        _unplant(b)


def test_twin_a_leaked_mount_with_as_ownership_leaks_bs_data(
        ab: tuple[InstrumentSpec, InstrumentSpec], canary: str, leaked_b_into_a: str) -> None:
    a, b = ab
    _plant(canary, a, b)
    mount = b.storage.persistent_mount
    appliance("chown", "-R", f"{idmap_base(a)}:{idmap_base(a)}", mount)
    try:
        assert inside(a, f"cat {leaked_b_into_a}/b-canary").stdout.strip() == canary
    finally:
        appliance("chown", "-R", f"{idmap_base(b)}:{idmap_base(b)}", mount)
        _unplant(b)


def _write_canary_and_sync(a: InstrumentSpec, canary: str) -> None:
    inside(a, f"cat > {P}/canary.txt && sync", stdin=(canary + "\n") * 64)
    appliance("sync")


def test_a_canary_is_nowhere_in_plaintext_on_the_appliances_disk(
        ab: tuple[InstrumentSpec, InstrumentSpec], canary: str) -> None:
    a, _ = ab
    _write_canary_and_sync(a, canary)
    try:
        assert inside(a, f"cat {P}/canary.txt").stdout.startswith(canary)  # A reads it fine
        assert plaintext_hits(canary, appliance_rootfs_on_host()) == []
        image = appliance_rootfs_on_host() / a.storage.persistent_image.lstrip("/")
        assert image.stat().st_size == a.storage.persistent_bytes
    finally:
        inside(a, f"rm -f {P}/canary.txt")


def test_twin_an_unencrypted_volume_shows_the_canary_on_disk(canary: str) -> None:
    image = f"{names.PLATFORM_STATE_DIR}/storage/twin-plain.img"
    appliance("sh", "-c", "mkdir -p /run/twin-src && cat > /run/twin-src/canary.txt",
              stdin=canary + "\n")
    try:
        # The same mkfs as the platform's volumes, minus the encryption policy.
        appliance("sh", "-c", f"fallocate -l 8M {image} && "
                  f"mkfs.ext4 -q -F -m 0 -O encrypt -d /run/twin-src {image} && sync")
        hits = plaintext_hits(canary, appliance_rootfs_on_host())
        assert [os.path.basename(hit) for hit in hits] == ["twin-plain.img"]
    finally:
        appliance("rm", "-rf", image, "/run/twin-src")


def _fill(spec: InstrumentSpec, path: str, mib: int) -> tuple[int, str]:
    proc = inside(spec, f"dd if=/dev/zero of={path} bs=1M count={mib}", check=False)
    return proc.returncode, proc.stderr


def test_a_filling_its_quota_gets_enospc_while_b_keeps_writing(
        ab: tuple[InstrumentSpec, InstrumentSpec]) -> None:
    a, b = ab
    over = (a.storage.persistent_bytes >> 20) + 8
    try:
        code, err = _fill(a, f"{P}/fill", over)
        assert code != 0 and "No space left on device" in err
        code, err = _fill(a, f"{T}/fill", (a.storage.transient_bytes >> 20) + 8)
        assert code != 0 and "No space left on device" in err
        assert _fill(b, f"{P}/still-writable", 4)[0] == 0
        assert _fill(b, f"{T}/still-writable", 4)[0] == 0
    finally:
        inside(a, f"rm -f {P}/fill {T}/fill")
        inside(b, f"rm -f {P}/still-writable {T}/still-writable")


def test_twin_without_the_size_cap_a_writes_past_its_quota(
        ab: tuple[InstrumentSpec, InstrumentSpec]) -> None:
    a, _ = ab
    uncapped = f"{names.PLATFORM_STATE_DIR}/twin-uncapped"
    appliance("install", "-d", "-m", "0700", "-o", str(idmap_base(a)), "-g",
              str(idmap_base(a)), uncapped)
    appliance("lxc", "config", "device", "add", a.container, "uncapped", "disk",
              f"source={uncapped}", "path=/uncapped")
    try:
        over = (a.storage.persistent_bytes >> 20) + 8
        assert _fill(a, "/uncapped/fill", over)[0] == 0
    finally:
        appliance("lxc", "config", "device", "remove", a.container, "uncapped", check=False)
        appliance("rm", "-rf", uncapped)


def _digest(spec: InstrumentSpec, path: str) -> str:
    return inside(spec, f"sha256sum {path}").stdout.split()[0]


def test_restart_empties_transient_and_keeps_persistent_byte_for_byte(
        ab: tuple[InstrumentSpec, InstrumentSpec]) -> None:
    a, _ = ab
    inside(a, f"dd if=/dev/urandom of={P}/keep.bin bs=64k count=16 2>/dev/null && "
              f"echo gone > {T}/scratch && sync")
    before = _digest(a, f"{P}/keep.bin")
    platform("restart", "--instrument", a.name)
    assert inside(a, f"ls -A {T}").stdout.split() == []
    assert _digest(a, f"{P}/keep.bin") == before


def test_twin_a_restart_that_bypasses_the_platform_keeps_transient(
        ab: tuple[InstrumentSpec, InstrumentSpec]) -> None:
    a, _ = ab
    inside(a, f"echo still-here > {T}/leftover")
    appliance("lxc", "restart", "--force", a.container)
    try:
        assert inside(a, f"cat {T}/leftover").stdout.strip() == "still-here"
    finally:
        platform("restart", "--instrument", a.name)
    assert inside(a, f"ls -A {T}").stdout.split() == []


def test_retention_sweep_removes_the_old_files_and_only_those(
        ab: tuple[InstrumentSpec, InstrumentSpec]) -> None:
    a, b = ab
    old = '2020-01-01 00:00:00'
    inside(a, f"mkdir -p {P}/logs && for f in old.pcap logs/old.log new.pcap logs/new.log; "
              f"do echo x > {P}/$f; done && touch -d '{old}' {P}/old.pcap {P}/logs/old.log")
    inside(b, f"echo x > {P}/b-old && touch -d '{old}' {P}/b-old")
    try:
        report = json.loads(platform("sweep", "--instrument", a.name).stdout)
        assert [e["path"] for e in report[a.name]["removed"]] == ["logs/old.log", "old.pcap"]
        assert report[a.name]["kept"] >= 2
        left = inside(a, f"cd {P} && find . -type f | sort").stdout.split()
        assert "./new.pcap" in left and "./logs/new.log" in left
        assert "./old.pcap" not in left and "./logs/old.log" not in left
        # Only A was swept: B's old file is B's until B's own sweep.
        assert inside(b, f"test -f {P}/b-old", check=False).returncode == 0
        # The instrument still manages its own data.
        inside(a, f"rm {P}/new.pcap")
    finally:
        inside(a, f"rm -rf {P}/logs {P}/new.pcap")
        inside(b, f"rm -f {P}/b-old")


def test_persistent_survives_a_redeploy_that_recreates_the_container(
        ab: tuple[InstrumentSpec, InstrumentSpec]) -> None:
    a, _ = ab
    inside(a, f"dd if=/dev/urandom of={P}/redeploy.bin bs=64k count=8 2>/dev/null && sync")
    before = _digest(a, f"{P}/redeploy.bin")
    # A stopped instrument is recreated by the next deploy, maybe with another
    # idmap range: its volume must come back, still its own.
    platform("stop", "--instrument", a.name)
    platform("deploy")
    assert _digest(a, f"{P}/redeploy.bin") == before
    assert inside(a, f"stat -c %u {P}/redeploy.bin").stdout.strip() == "0"
    inside(a, f"rm {P}/redeploy.bin && touch {P}/writable && rm {P}/writable")
