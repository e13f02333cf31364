"""Issue 5's pure pieces: filter rules, bridge isolation, addresses, handoff, probes, lab plan."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from plan_checks import check_nft
from test_nftables import passive_deployment

from sensorlab import names, nftables
from sensorlab.errors import SensorlabError
from sensorlab.harness import deploy, labnet, probe
from sensorlab.planner import plan_sensor
from sensorlab.platform import active, handoff
from sensorlab.spec import BridgedNic, BridgeSpec, Deployment, InstrumentSpec, NetworkMode

REPO = Path(__file__).resolve().parent.parent
UUID = "5e2b8c1e-0000-4000-8000-issue5probe00"


def bridged(address: str = "", address6: str = "") -> BridgedNic:
    return BridgedNic(name="eth0", bridge="slbr-prot", host_veth="slvaaaa0000",
                      peer_veth="slcaaaa0000", mac="02:60:cf:fa:33:7f",
                      filter_chain="filter_web_eth0", address=address, address6=address6)


def active_deployment(nic: BridgedNic) -> Deployment:
    web = InstrumentSpec(name="web", type="active-web", container="sl-i-web",
                         image="active-web", network=NetworkMode.ACTIVE, bridged_nics=(nic,))
    base = passive_deployment("probe")
    return replace(base, instruments=(*base.instruments, web),
                   bridges=(BridgeSpec(name="slbr-prot", port="prot0"),))


def chain(text: str, name: str) -> str:
    return text.split(f"chain {name} {{", 1)[1].split("\n\t}", 1)[0]


def test_mac_only_filter_accepts_the_three_families_from_its_mac() -> None:
    block = chain(nftables.render_ruleset(active_deployment(bridged())), "filter_web_eth0")
    assert "ether saddr != 02:60:cf:fa:33:7f counter drop" in block
    assert "ether type { arp, ip, ip6 } counter accept" in block
    assert "policy drop;" in block


def test_ipv4_address_drops_other_sources_and_all_ipv6() -> None:
    block = chain(nftables.render_ruleset(active_deployment(bridged("198.18.1.20/24"))),
                  "filter_web_eth0")
    assert "ip saddr != 198.18.1.20 counter drop" in block
    assert "arp saddr ip != 198.18.1.20 counter drop" in block
    assert "ether type { arp, ip } counter accept" in block and "ip6" not in block


def test_ipv6_address_allows_it_its_link_local_and_dad_only() -> None:
    nic = bridged("198.18.1.20/24", "2001:db8::20/64")
    block = chain(nftables.render_ruleset(active_deployment(nic)), "filter_web_eth0")
    assert ("ether type ip6 ip6 saddr != { 2001:db8::20, ::, fe80::60:cfff:fefa:337f } "
            "counter drop") in block
    assert "ether type { arp, ip, ip6 } counter accept" in block


def test_link_local_is_the_kernels_eui64() -> None:
    assert nftables.link_local6("02:60:cf:fa:33:7f") == "fe80::60:cfff:fefa:337f"
    assert nftables.link_local6("00:11:22:33:44:55") == "fe80::211:22ff:fe33:4455"


def test_every_instrument_bridge_is_closed_to_the_appliance() -> None:
    text = nftables.render_ruleset(active_deployment(bridged("198.18.1.20/24")))
    for bridge in ("slbr-prot", "slmir0"):
        block = chain(text, names.bridge_isolation_chain(bridge))
        assert f'hook ingress device "{bridge}"' in block and "policy drop;" in block


def test_nft_accepts_the_active_ruleset() -> None:
    check_nft(nftables.render_ruleset(active_deployment(bridged("198.18.1.20/24",
                                                                "2001:db8::20/64"))))


def test_addresses_are_set_from_outside_with_no_route() -> None:
    web = active_deployment(bridged("198.18.1.20/24")).instrument("web")
    assert active.address_commands(web) == [
        ["ip", "address", "replace", "198.18.1.20/24", "dev", "eth0"],
        ["ip", "link", "set", "eth0", "up"],
    ]
    assert not any("route" in argv for argv in active.address_commands(web))
    assert active.address_commands(passive_deployment("probe").instruments[0]) == []


def test_lab_sensor_wires_active_downloader_and_rule_ids() -> None:
    deployment = plan_sensor(REPO / "sensors" / "lab.yaml").deployment
    web = deployment.instrument("web")
    assert web.bridged_nics[0].address == labnet.ACTIVE_WEB
    assert deployment.bridges == (BridgeSpec(name="slbr-prot", port="prot0"),)
    holder = handoff.downloader(deployment)
    assert holder is not None and holder.physical_nics[0].port == "up0"
    assert holder.physical_nics[0].address == labnet.DOWNLOADER
    fetches = handoff.requests(deployment)
    assert [(f.consumer, f.name) for f in fetches] == [("rids", "ids.rules")]
    assert fetches[0].url.startswith(labnet.RULE_FEED_URL)
    assert deployment.instrument("rids").network is NetworkMode.PASSIVE
    assert deploy.lab_ports(deployment) == {"mon0": "mon", "prot0": "prot", "up0": "up",
                                            "mgmt0": "mgmt"}


def test_lab_addresses_stay_in_the_benchmarking_range() -> None:
    import ipaddress

    lab = ipaddress.ip_network("198.18.0.0/15")
    for cidr in [*filter(None, labnet.LAB_HOST.values()), labnet.APPLIANCE_MGMT,
                 labnet.ACTIVE_WEB, labnet.DOWNLOADER]:
        assert ipaddress.ip_interface(cidr).ip in lab
    assert set(labnet.LAB_HOST) == set(names.SEGMENTS)


def with_settings(settings: dict[str, object]) -> Deployment:
    deployment = plan_sensor(REPO / "sensors" / "lab.yaml").deployment
    rids = replace(deployment.instrument("rids"), settings=json.dumps(settings))
    return replace(deployment, instruments=tuple(
        rids if i.name == "rids" else i for i in deployment.instruments))


def test_fetch_list_is_one_line_per_request() -> None:
    deployment = with_settings({"fetch": {"b.rules": "http://198.18.2.1:8080/b",
                                          "a.rules": "http://198.18.2.1:8080/a"}})
    assert handoff.fetch_list(handoff.requests(deployment)) == (
        "rids/a.rules http://198.18.2.1:8080/a\nrids/b.rules http://198.18.2.1:8080/b\n")


@pytest.mark.parametrize("settings", [
    {"fetch": ["http://198.18.2.1/x"]},
    {"fetch": {"../etc/passwd": "http://198.18.2.1/x"}},
    {"fetch": {"a.rules": "file:///etc/shadow"}},
    {"fetch": {"a.rules": "http://198.18.2.1/x y"}},
])
def test_bad_fetch_requests_are_refused(settings: dict[str, object]) -> None:
    with pytest.raises(SensorlabError):
        handoff.requests(with_settings(settings))


def test_fetch_without_a_downloader_is_refused() -> None:
    deployment = with_settings({"fetch": {"a.rules": "http://198.18.2.1/a"}})
    deployment = replace(deployment, instruments=tuple(
        i for i in deployment.instruments if not i.physical_nics))
    with pytest.raises(SensorlabError, match="no Downloader"):
        handoff.requests(deployment)


@pytest.mark.parametrize("kind", probe.CRAFTED)
def test_every_crafted_probe_carries_the_uuid(kind: str) -> None:
    frames = probe._frames(kind, UUID.encode(), "02:11:22:33:44:55")
    assert len(frames) == 1 and UUID.encode() in bytes(frames[0])


def test_probe_kinds_cover_the_issue_list() -> None:
    assert {"arp", "ipv4-unicast", "udp-bcast", "ipv6-nd", "mld", "dhcp-discover", "raw-l2",
            "vlan", "addr-route"} <= set(probe.KINDS)


def test_probe_repeat_is_bounded() -> None:
    with pytest.raises(SystemExit):
        probe.main(["send", "--iface", "lo", "--uuid", UUID, "--repeat", "10001"])
