"""Passive instruments receive the mirror feed and cannot transmit anything.

Probes are sent from inside the instrument's network namespace with full
root powers there (a superset of what a compromised instrument has), and
counted by sniffers on every segment outside it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integration import netlab
from integration.netlab import counters
from sensorlab import names
from sensorlab.harness import deploy, topology
from sensorlab.harness.nsprobe import Place, Sniffers, send
from sensorlab.harness.probe import KINDS
from sensorlab.spec import Deployment, InstrumentSpec, NetworkMode

pytestmark = [pytest.mark.integration, pytest.mark.network, pytest.mark.passive]

INJECTED_FRAMES = 200
PROBE_REPEAT = 3


def passive(deployment: Deployment) -> list[InstrumentSpec]:
    found = [i for i in deployment.instruments if i.network is NetworkMode.PASSIVE]
    assert found, "the lab sensor must deploy at least one passive instrument"
    return found


def instrument_place(spec: InstrumentSpec, nic: str) -> Place:
    status = deploy.platform_status()["instruments"]
    assert isinstance(status, dict)
    return topology.instrument(int(status[spec.name]["pid"]), nic, f"instrument {spec.name}")


def outside_places(deployment: Deployment) -> list[Place]:
    """A capture point on every segment outside the instruments."""
    places = [topology.segment(segment) for segment in names.SEGMENTS]
    places += [topology.appliance(bridge) for bridge in deployment.mirror_bridges]
    places += [topology.appliance(mirror.port) for mirror in deployment.mirrors]
    return places


def test_mirror_delivers_every_monitored_frame(deployment: Deployment, tag: str) -> None:
    receivers = [instrument_place(spec, nic.name)
                 for spec in passive(deployment) for nic in spec.nics]
    sniffers = Sniffers(receivers, tag)
    sent = send(topology.segment("mon"), tag, ["udp-bcast"], repeat=INJECTED_FRAMES)
    counts = sniffers.counts()
    assert sent == {"udp-bcast": INJECTED_FRAMES}
    assert counts == {place.label: INJECTED_FRAMES for place in receivers}


def test_passive_instrument_cannot_transmit(deployment: Deployment, tag: str) -> None:
    for spec in passive(deployment):
        for nic in spec.nics:
            before = counters()[nic.guard_chain]
            sniffers = Sniffers(outside_places(deployment), tag)
            sent = send(instrument_place(spec, nic.name), tag, list(KINDS), repeat=PROBE_REPEAT)
            seen = sniffers.counts()
            assert sent == {kind: PROBE_REPEAT for kind in KINDS}
            assert seen == {place: 0 for place in seen}, f"{spec.name} leaked: {seen}"
            dropped = counters()[nic.guard_chain] - before
            assert dropped >= sum(sent.values()), f"guard counted {dropped} drops"


@pytest.fixture
def guard_removed(deployment: Deployment) -> Iterator[InstrumentSpec]:
    """Take the first passive instrument's guard away; the platform restores it after."""
    spec = passive(deployment)[0]
    with netlab.chains_removed(*(nic.guard_chain for nic in spec.nics)):
        yield spec


def test_twin_without_guard_probes_leak(deployment: Deployment, guard_removed: InstrumentSpec,
                                        tag: str) -> None:
    """The same probes, with the enforcement taken away, are seen: the proof can fail."""
    bridge_places = [topology.appliance(nic.bridge) for nic in guard_removed.nics]
    sniffers = Sniffers(bridge_places, tag)
    sent = send(instrument_place(guard_removed, guard_removed.nics[0].name), tag,
                list(KINDS), repeat=PROBE_REPEAT)
    seen = sniffers.counts()
    assert seen == {place.label: sum(sent.values()) for place in bridge_places}
