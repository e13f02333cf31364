"""Storage faults and crypto-erase, on scratch instruments deployed beside the lab's.

A missing key, a corrupt image, a full disk: each is one clear error naming
the instrument and the volume, and no other instrument is touched. A deploy
that fails half-way leaves no volume or key behind. Removing an instrument
destroys its key, and without the key a copy of its image is noise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from integration.storage_helpers import (
    appliance,
    error_lines,
    inside,
    listing,
    pair,
    platform,
    push_spec,
    running,
    scratch,
)
from sensorlab import names
from sensorlab.spec import Deployment, InstrumentSpec, Limits

pytestmark = [pytest.mark.integration, pytest.mark.storage]

SPEC = "/tmp/storage-scratch.json"
P = names.INSTRUMENT_PERSISTENT_DIR
COPY = f"{names.PLATFORM_STATE_DIR}/erase-copy"


def _state() -> tuple[list[str], list[str], list[str]]:
    return (listing(names.KEYSTORE_DIR), listing(f"{names.PLATFORM_STATE_DIR}/storage"),
            listing(names.VOLUMES_DIR))


@pytest.fixture
def lone(deployment: Deployment) -> Iterator[tuple[Deployment, InstrumentSpec]]:
    """The lab's deployment plus one scratch instrument, deployed; removed afterwards."""
    pair(deployment)
    spec = scratch(deployment, "scratch")
    extended = dataclasses.replace(deployment, instruments=(*deployment.instruments, spec))
    push_spec(extended, SPEC)
    platform("deploy", SPEC)
    yield extended, spec
    platform("remove", SPEC, "--instrument", spec.name, check=False)


def _others_untouched(deployment: Deployment, before: dict[str, str]) -> None:
    assert running(deployment) == before
    a, b = pair(deployment)
    for spec in (a, b):
        assert inside(spec, f"touch {P}/.alive && rm {P}/.alive", check=False).returncode == 0


def test_a_missing_key_is_named_and_stops_only_that_instrument(
        deployment: Deployment, lone: tuple[Deployment, InstrumentSpec]) -> None:
    _, spec = lone
    before = running(deployment)
    platform("stop", SPEC, "--instrument", spec.name)
    key = names.instrument_key(spec.name)
    appliance("mv", key, "/run/held.key")
    try:
        proc = platform("start", SPEC, "--instrument", spec.name, check=False)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        [line] = [x for x in error_lines(proc) if "error:" in x]
        assert f"instrument {spec.name}" in line and spec.storage.persistent_image in line
        assert "key" in line and "hint:" in proc.stderr
        # Boot-style start of everything: the others start, only this one is reported.
        proc = platform("start", SPEC, check=False)
        assert proc.returncode == 1 and f"instrument(s) {spec.name} did not start" in proc.stderr
        _others_untouched(deployment, before)
    finally:
        appliance("mv", "/run/held.key", key)
    platform("start", SPEC, "--instrument", spec.name)


def test_a_corrupt_image_is_named_and_touches_nothing_else(
        deployment: Deployment, lone: tuple[Deployment, InstrumentSpec]) -> None:
    _, spec = lone
    before = running(deployment)
    platform("stop", SPEC, "--instrument", spec.name)
    # Zero the primary superblock (1 KiB at offset 1 KiB).
    appliance("dd", "if=/dev/zero", f"of={spec.storage.persistent_image}", "bs=1024", "seek=1",
              "count=1", "conv=notrunc")
    proc = platform("start", SPEC, "--instrument", spec.name, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    [line] = [x for x in error_lines(proc) if "error:" in x]
    assert f"instrument {spec.name}" in line and spec.storage.persistent_image in line
    assert "corrupt" in line
    _others_untouched(deployment, before)
    assert not appliance("sh", "-c", "losetup -a").stdout.count(spec.storage.persistent_image)


def test_a_full_disk_half_way_through_a_deploy_leaves_no_orphan_volume_or_key(
        deployment: Deployment) -> None:
    pair(deployment)
    before_state, before = _state(), running(deployment)
    full = "/run/sl-full"
    appliance("sh", "-c", f"mkdir -p {full} && mount -t tmpfs -o size=1m sl-full {full}")
    try:
        good = scratch(deployment, "orphan-ok")
        starved = scratch(deployment, "orphan-full", persistent_image=f"{full}/orphan-full.img")
        bad = dataclasses.replace(deployment,
                                  instruments=(*deployment.instruments, good, starved))
        push_spec(bad, "/tmp/storage-full.json")
        proc = platform("deploy", "/tmp/storage-full.json", check=False)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        [line] = [x for x in error_lines(proc) if "error:" in x]
        assert "instrument orphan-full" in line and f"{full}/orphan-full.img" in line
        assert "disk" in line and "hint:" in proc.stderr
        assert "rolled back: volumes of orphan-ok" in proc.stderr
        assert _state() == before_state
        assert listing(full) == []
        assert running(deployment) == before
        listed = appliance("lxc", "list", "--format=csv", "-c", "n").stdout.split()
        assert not {good.container, starved.container} & set(listed)
    finally:
        appliance("umount", full, check=False)


def test_an_lxd_refusal_after_the_volumes_exist_rolls_them_back(deployment: Deployment) -> None:
    pair(deployment)
    before_state = _state()
    refused = dataclasses.replace(scratch(deployment, "orphan-refused"),
                                  limits=Limits(memory="a-lot"))
    push_spec(dataclasses.replace(deployment, instruments=(*deployment.instruments, refused)),
              "/tmp/storage-refused.json")
    proc = platform("deploy", "/tmp/storage-refused.json", check=False)
    assert proc.returncode == 1 and "instrument orphan-refused" in proc.stderr
    assert _state() == before_state


def _copy_and_remove(spec: InstrumentSpec, canary: str, keep_key: bool) -> None:
    inside(spec, f"cat > {P}/secret.txt && sync", stdin=canary + "\n")
    platform("stop", SPEC, "--instrument", spec.name)
    appliance("cp", spec.storage.persistent_image, f"{COPY}.img")
    if keep_key:
        appliance("cp", names.instrument_key(spec.name), "/run/erase-twin.key")
    platform("remove", SPEC, "--instrument", spec.name)
    assert not listing(names.KEYSTORE_DIR).count(f"{spec.name}.key")
    assert appliance("test", "-e", spec.storage.persistent_image, check=False).returncode != 0
    appliance("sh", "-c", "PYTHONPATH=/opt/sensorlab python3 -c 'from sensorlab.platform "
              f"import storage; storage.ensure_loop_nodes()' && mkdir -p {COPY} && "
              f"mount -o loop,ro {COPY}.img {COPY}")


_READ_ALL = (f"cat {COPY}/data/* 2>&1; python3 -c 'import os; print(os.listdir(\"{COPY}/data\"))'")


def _unlock_copy_with(key: str) -> None:
    appliance("sh", "-c", "PYTHONPATH=/opt/sensorlab python3 -c 'from sensorlab.platform import "
              f"fscrypt; fscrypt.add_key(\"{COPY}\", open(\"{key}\", \"rb\").read())'")


def _cleanup_copy() -> None:
    appliance("umount", COPY, check=False)
    appliance("rm", "-rf", COPY, f"{COPY}.img", "/run/erase-twin.key")


def test_crypto_erase_leaves_no_readable_data_even_in_a_copy_of_the_image(
        lone: tuple[Deployment, InstrumentSpec], tag: str) -> None:
    _, spec = lone
    canary = f"SLERASE-{tag}"
    try:
        _copy_and_remove(spec, canary, keep_key=False)
        out = appliance("sh", "-c", _READ_ALL).stdout
        assert canary not in out and "secret.txt" not in out
        assert "Required key not available" in out
    finally:
        _cleanup_copy()


def test_twin_with_the_key_kept_the_copy_is_readable(
        lone: tuple[Deployment, InstrumentSpec], tag: str) -> None:
    _, spec = lone
    canary = f"SLERASE-{tag}"
    try:
        _copy_and_remove(spec, canary, keep_key=True)
        _unlock_copy_with("/run/erase-twin.key")
        assert canary in appliance("sh", "-c", _READ_ALL).stdout
    finally:
        _cleanup_copy()
