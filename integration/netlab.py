"""Shared pieces of the network proofs: where to probe, counters, enforcement switches."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sensorlab import names
from sensorlab.harness import deploy, lxdhost, topology
from sensorlab.harness.nsprobe import Place
from sensorlab.spec import Deployment, InstrumentSpec, NetworkMode


def of_mode(deployment: Deployment, mode: NetworkMode) -> list[InstrumentSpec]:
    return [i for i in deployment.instruments if i.network is mode]


def active_bridged(deployment: Deployment) -> InstrumentSpec:
    found = [i for i in deployment.instruments if i.bridged_nics]
    assert found, "the lab sensor must deploy an active instrument on a sensor bridge"
    return found[0]


def pid_of(spec: InstrumentSpec) -> int:
    status = deploy.platform_status()["instruments"]
    assert isinstance(status, dict)
    return int(status[spec.name]["pid"])


def instrument_place(spec: InstrumentSpec, nic: str) -> Place:
    return topology.instrument(pid_of(spec), nic, f"instrument {spec.name}")


def instrument_netns(spec: InstrumentSpec) -> str:
    return topology.instrument(pid_of(spec), "lo", spec.name).netns


def counters() -> dict[str, int]:
    raw = deploy.platform_status()["counters"]
    assert isinstance(raw, dict)
    return {str(k): int(v) for k, v in raw.items()}


def segments_except(*kept: str) -> list[Place]:
    return [topology.segment(s) for s in names.SEGMENTS if s not in kept]


def appliance_sh(script: str) -> str:
    """A shell line on the appliance; written to be safe to run twice (LXD exec retries)."""
    return str(lxdhost.exec_in_appliance("sh", "-c", script).stdout)


def restore_network() -> None:
    appliance_sh("sensorlab-platform network")


@contextmanager
def chains_removed(*chains: str) -> Iterator[None]:
    """A twin's fault: take enforcement chains away, then let the platform put them back."""
    for chain in chains:
        # `|| true`: an exec retried after LXD's pid race may find it gone already.
        appliance_sh(f"nft delete chain netdev {names.NFT_TABLE} {chain} || true")
    assert not set(chains) & set(counters())
    try:
        yield
    finally:
        restore_network()
        assert set(chains) <= set(counters())
