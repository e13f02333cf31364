"""The lab sensor the harness deploys: a passive probe, bus-only instruments, and more."""

from __future__ import annotations

from pathlib import Path

from plan_checks import check_nats, check_nft

from sensorlab import names
from sensorlab.nftables import render_ruleset
from sensorlab.planner import plan_sensor
from sensorlab.spec import Deployment, MirrorNic, MirrorSpec, NetworkMode

REPO = Path(__file__).resolve().parent.parent


def test_lab_sensor_plans_one_guarded_probe() -> None:
    deployment = plan_sensor(REPO / "sensors" / "lab.yaml").deployment
    probe = deployment.instrument("probe")
    # The bus proofs' instruments (issue 7) have no network at all.
    for name in ("ids", "pdns", "msgr", "loner"):
        assert deployment.instrument(name).network == NetworkMode.NONE
        assert not deployment.instrument(name).nics
    assert (probe.name, probe.type, probe.image) == ("probe", "passive-probe", "passive-probe")
    assert probe.network == NetworkMode.PASSIVE
    assert probe.nics == (
        MirrorNic(
            name="eth0",
            bridge=names.mirror_bridge(0),
            host_veth=names.instrument_host_veth("probe", "eth0"),
            peer_veth=names.instrument_peer_veth("probe", "eth0"),
            mac=names.instrument_mac("probe", "eth0"),
            guard_chain=names.guard_chain("probe", "eth0"),
        ),
    )
    assert probe.bridged_nics == () and probe.physical_nics == ()
    # The second mirror bridge feeds the rule IDS (issue 5).
    assert deployment.mirror_bridges == ("slmir0", "slmir1")
    assert deployment.mirrors == (
        MirrorSpec(port="mon0", bridges=("slmir0", "slmir1"), chain=names.capco_chain("mon0")),
    )


def test_lab_plan_passes_nft_and_nats_checks() -> None:
    plan = plan_sensor(REPO / "sensors" / "lab.yaml")
    files = plan.files()
    assert files["nftables.nft"] == render_ruleset(plan.deployment)
    check_nft(files["nftables.nft"])
    check_nats(files["nats.conf"], plan.deployment)
    assert Deployment.from_json(files["deployment.json"]) == plan.deployment
