"""Active instruments answer on their own segment and nowhere else.

The active instrument sits on sensor bridge slbr-prot, tied to the protected
port. Probes are sent from inside it with root powers in its namespace, and
from every other segment towards it; sniffers count the UUID everywhere.
Each negative test has a twin that takes one enforcement away.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integration import netlab
from integration.storage_helpers import platform
from sensorlab import names
from sensorlab.harness import labnet, topology
from sensorlab.harness.nsprobe import Sniffers, arp_answered, in_netns, send
from sensorlab.spec import Deployment, InstrumentSpec, NetworkMode

pytestmark = [pytest.mark.integration, pytest.mark.network]

REPEAT = 3
PROTECTED = "prot"
# Frames an honest active instrument sends: its own MAC and address.
HONEST = ["arp", "udp-bcast", "ipv4-unicast"]
# Frames a compromised one might: a spoofed MAC, a foreign source address, a VLAN tag.
SPOOFED = ["raw-l2", "icmp", "vlan"]


@pytest.fixture
def web(deployment: Deployment) -> InstrumentSpec:
    return netlab.active_bridged(deployment)


def test_no_network_instruments_have_only_loopback(deployment: Deployment) -> None:
    none = netlab.of_mode(deployment, NetworkMode.NONE)
    assert none, "the lab sensor must deploy an instrument with network_access_type None"
    for spec in none:
        assert not (spec.nics or spec.bridged_nics or spec.physical_nics)
        # Netlink answers for the namespace itself (sysfs would show the host's).
        out = in_netns(netlab.instrument_netns(spec), "ip", "-o", "link", "show")
        links = [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]
        assert links == ["lo"], f"{spec.name} has links {links}"


def _page_from_protected(web: InstrumentSpec) -> str:
    address = labnet.ip(web.bridged_nics[0].address)
    netns = topology.segment(PROTECTED).netns
    return in_netns(netns, "python3", "-c", "import urllib.request,sys;"
                    f"sys.stdout.write(urllib.request.urlopen('http://{address}:8080/',"
                    " timeout=10).read().decode())")


def test_active_answers_on_its_own_segment(web: InstrumentSpec) -> None:
    assert _page_from_protected(web).startswith("active-web")


def _send_from_web(web: InstrumentSpec, tag: str, kinds: list[str], dst: str) -> dict[str, int]:
    nic = web.bridged_nics[0]
    return send(netlab.instrument_place(web, nic.name), tag, kinds, repeat=REPEAT,
                addressing={"src_ip": labnet.ip(nic.address), "dst_ip": dst})


def test_active_reaches_only_its_own_segment(web: InstrumentSpec, tag: str) -> None:
    others = netlab.segments_except(PROTECTED)
    own = topology.segment(PROTECTED)
    sniffers = Sniffers([own, *others], tag)
    sent = _send_from_web(web, tag, HONEST, labnet.ip(labnet.LAB_HOST["mgmt"]))
    seen = sniffers.counts()
    assert seen[own.label] == sum(sent.values()), "positive control: its own segment hears it"
    assert {p.label: seen[p.label] for p in others} == {p.label: 0 for p in others}


def test_active_cannot_reach_the_appliance(web: InstrumentSpec) -> None:
    nic = web.bridged_nics[0]
    place = netlab.instrument_place(web, nic.name)
    assert not arp_answered(place, labnet.ip(nic.address), labnet.ip(labnet.APPLIANCE_MGMT))


def test_active_filter_drops_spoofed_frames(web: InstrumentSpec, tag: str) -> None:
    nic = web.bridged_nics[0]
    before = netlab.counters()[nic.filter_chain]
    sniffers = Sniffers([topology.segment(s) for s in names.SEGMENTS], tag)
    sent = send(netlab.instrument_place(web, nic.name), tag, SPOOFED, repeat=REPEAT)
    seen = sniffers.counts()
    assert seen == {label: 0 for label in seen}, f"spoofed frames leaked: {seen}"
    assert netlab.counters()[nic.filter_chain] - before >= sum(sent.values())


def test_other_segments_cannot_reach_the_active(web: InstrumentSpec, tag: str) -> None:
    nic = web.bridged_nics[0]
    inside = Sniffers([netlab.instrument_place(web, nic.name)], tag)
    addressing = {"dst_ip": labnet.ip(nic.address), "dst_mac": nic.mac}
    for place in netlab.segments_except(PROTECTED):
        send(place, tag, ["ipv4-unicast", "udp-bcast", "arp"], repeat=REPEAT,
             addressing=addressing)
    assert set(inside.counts().values()) == {0}
    # Positive control: the same frames from its own segment arrive.
    inside = Sniffers([netlab.instrument_place(web, nic.name)], tag)
    sent = send(topology.segment(PROTECTED), tag, ["ipv4-unicast", "udp-bcast"],
                repeat=REPEAT, addressing=addressing)
    assert list(inside.counts().values()) == [sum(sent.values())]


# --- twins: each takes one enforcement away and sees the traffic ------------

@pytest.fixture
def management_bridged(web: InstrumentSpec) -> Iterator[InstrumentSpec]:
    """A link the platform forbids: the management port on the instrument bridge."""
    mgmt = names.appliance_port(names.MANAGEMENT_SEGMENT)
    bridge = web.bridged_nics[0].bridge
    netlab.appliance_sh(f"ip link set {mgmt} master {bridge}")
    try:
        yield web
    finally:
        netlab.appliance_sh(f"ip link set {mgmt} nomaster && ip link set {mgmt} up && "
                            f"ip address replace {labnet.APPLIANCE_MGMT} dev {mgmt}")


def test_twin_management_on_the_bridge_is_reached(management_bridged: InstrumentSpec,
                                                  tag: str) -> None:
    web = management_bridged
    mgmt = topology.segment(names.MANAGEMENT_SEGMENT)
    sniffers = Sniffers([mgmt], tag)
    sent = _send_from_web(web, tag, HONEST, labnet.ip(labnet.LAB_HOST["mgmt"]))
    assert sniffers.counts() == {mgmt.label: sum(sent.values())}
    nic = web.bridged_nics[0]
    inside = Sniffers([netlab.instrument_place(web, nic.name)], tag)
    sent = send(mgmt, tag, ["ipv4-unicast", "udp-bcast"], repeat=REPEAT,
                addressing={"dst_ip": labnet.ip(nic.address), "dst_mac": nic.mac})
    assert list(inside.counts().values()) == [sum(sent.values())]


@pytest.fixture
def bridge_open_to_appliance(web: InstrumentSpec) -> Iterator[InstrumentSpec]:
    with netlab.chains_removed(names.bridge_isolation_chain(web.bridged_nics[0].bridge)):
        yield web


def test_twin_without_bridge_isolation_the_appliance_answers(
        bridge_open_to_appliance: InstrumentSpec) -> None:
    nic = bridge_open_to_appliance.bridged_nics[0]
    place = netlab.instrument_place(bridge_open_to_appliance, nic.name)
    assert arp_answered(place, labnet.ip(nic.address), labnet.ip(labnet.APPLIANCE_MGMT))


@pytest.fixture
def filter_removed(web: InstrumentSpec) -> Iterator[InstrumentSpec]:
    with netlab.chains_removed(web.bridged_nics[0].filter_chain):
        yield web


def test_twin_without_filter_spoofed_frames_leak(filter_removed: InstrumentSpec,
                                                 tag: str) -> None:
    own = topology.segment(PROTECTED)
    sniffers = Sniffers([own], tag)
    nic = filter_removed.bridged_nics[0]
    sent = send(netlab.instrument_place(filter_removed, nic.name), tag, SPOOFED, repeat=REPEAT)
    assert sniffers.counts() == {own.label: sum(sent.values())}


def test_addresses_come_back_when_the_platform_restarts_an_instrument(
        deployment: Deployment, web: InstrumentSpec) -> None:
    """A NIC leaves the container when it stops, and with it the address the
    platform set from outside; the platform's start must set it again (a
    second run of this suite once found the active instrument and the
    Downloader without addresses after the appliance restart test)."""
    def addresses(spec: InstrumentSpec) -> list[tuple[str, str]]:
        nics = [(n.name, n.address) for n in spec.bridged_nics]
        return [*nics, *((n.name, n.address) for n in spec.physical_nics)]

    addressed = [spec for spec in deployment.instruments
                 if any(address for _, address in addresses(spec))]
    assert web in addressed and len(addressed) >= 2, "expected the web and the Downloader"
    for spec in addressed:
        platform("restart", "--instrument", spec.name)
        for nic, address in addresses(spec):
            shown = in_netns(netlab.instrument_netns(spec), "ip", "-o", "address", "show",
                             "dev", nic)
            assert address in shown, f"{spec.name}/{nic} lost {address}: {shown}"
    assert _page_from_protected(web).startswith("active-web")
