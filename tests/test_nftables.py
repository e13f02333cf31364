"""The platform ruleset: rendered from data, accepted by nft, counters parsed back."""

from __future__ import annotations

import json
import os
from pathlib import Path

from plan_checks import check_nft

from sensorlab import names, nftables
from sensorlab.spec import Deployment, InstrumentSpec, MirrorNic, MirrorSpec, NetworkMode

GOLDEN = Path(__file__).parent / "golden" / "skeleton" / "nftables.nft"


def passive_spec(name: str, bridge: str) -> InstrumentSpec:
    return InstrumentSpec(
        name=name, type="passive-probe", container=names.instrument_container(name),
        image="passive-probe", network=NetworkMode.PASSIVE,
        nics=(MirrorNic(name="eth0", bridge=bridge,
                        host_veth=names.instrument_host_veth(name, "eth0"),
                        peer_veth=names.instrument_peer_veth(name, "eth0"),
                        mac=names.instrument_mac(name, "eth0"),
                        guard_chain=names.guard_chain(name, "eth0")),),
    )


def fed_from_mon0(specs: tuple[InstrumentSpec, ...], bridges: tuple[str, ...]) -> Deployment:
    return Deployment(instruments=specs, mirror_bridges=bridges,
                      mirrors=(MirrorSpec(port="mon0", bridges=bridges,
                                          chain=names.capco_chain("mon0")),))


def passive_deployment(*instruments: str) -> Deployment:
    bridge = names.mirror_bridge(0)
    return fed_from_mon0(tuple(passive_spec(name, bridge) for name in instruments), (bridge,))


def chain_body(ruleset: str, chain: str) -> str:
    return ruleset.split(f"chain {chain} {{", 1)[1].split("}", 1)[0]


def test_ruleset_matches_golden() -> None:
    text = nftables.render_ruleset(passive_deployment("probe", "ids"))
    if os.environ.get("SENSORLAB_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_every_passive_nic_gets_a_drop_policy_chain() -> None:
    text = nftables.render_ruleset(passive_deployment("a", "b", "c"))
    for name in ("a", "b", "c"):
        chain = names.guard_chain(name, "eth0")
        block = chain_body(text, chain)
        assert f'device "{names.instrument_host_veth(name, "eth0")}"' in block
        assert "policy drop;" in block


def test_order_of_instruments_does_not_change_the_output() -> None:
    one = nftables.render_ruleset(passive_deployment("a", "b"))
    two = nftables.render_ruleset(passive_deployment("b", "a"))
    assert one == two


def test_nft_accepts_the_ruleset() -> None:
    check_nft(nftables.render_ruleset(passive_deployment("probe")))


def test_parse_counters_sums_per_chain() -> None:
    listing = {"nftables": [
        {"metainfo": {"version": "1.0.6"}},
        {"table": {"family": "netdev", "name": "sensorlab"}},
        {"rule": {"chain": "guard_a_eth0", "expr": [{"counter": {"packets": 7, "bytes": 1}},
                                                     {"drop": None}]}},
        {"rule": {"chain": "capco_mon0", "expr": [{"counter": {"packets": 3, "bytes": 9}},
                                                   {"dup": {"dev": "slmir0"}}]}},
        {"rule": {"chain": "capco_mon0", "expr": [{"counter": {"packets": 3, "bytes": 9}}]}},
    ]}
    assert nftables.parse_counters(json.dumps(listing)) == {"guard_a_eth0": 7, "capco_mon0": 6}


def test_capco_copies_to_every_receiving_nic_and_moves_the_frame_to_the_last() -> None:
    bridges = (names.mirror_bridge(0), names.mirror_bridge(1))
    deployment = fed_from_mon0((passive_spec("b", bridges[0]), passive_spec("a", bridges[0]),
                                passive_spec("c", bridges[1])), bridges)
    text = nftables.render_ruleset(deployment)
    block = chain_body(text, names.capco_chain("mon0"))
    rules = [line.strip() for line in block.splitlines()[2:] if line.strip()]
    veth = {name: names.instrument_host_veth(name, "eth0") for name in "abc"}
    # Bridge order first, then instrument name: a and b on slmir0, c on slmir1.
    assert rules == [f'dup to "{veth["a"]}" comment "a/eth0"',
                     f'dup to "{veth["b"]}" comment "b/eth0"',
                     f'counter fwd to "{veth["c"]}" comment "c/eth0"']
    check_nft(text)


def test_a_port_with_no_receiver_drops_in_its_capco_chain() -> None:
    text = nftables.render_ruleset(fed_from_mon0((), (names.mirror_bridge(0),)))
    block = chain_body(text, names.capco_chain("mon0"))
    assert block.split(";")[-1].strip() == "counter drop"
    check_nft(text)
