"""Pure pieces of the platform and harness: requests, rollback order, parsers."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_nftables import passive_deployment

from sensorlab import names
from sensorlab.errors import SensorlabError, ValidationError
from sensorlab.harness import deploy, doctor, topology
from sensorlab.harness.lxdhost import appliance_config
from sensorlab.platform.deploy import Undo
from sensorlab.platform.instances import container_config
from sensorlab.spec import Deployment, MirrorSpec


def test_instrument_container_is_unprivileged_isolated_and_gets_the_guarded_veth() -> None:
    spec = passive_deployment("probe").instruments[0]
    config = container_config(spec)
    assert config["config"]["security.privileged"] == "false"
    assert config["config"]["security.idmap.isolated"] == "true"
    assert config["config"]["security.nesting"] == "false"
    assert config["devices"]["eth0"] == {
        "type": "nic", "nictype": "physical", "parent": names.instrument_peer_veth("probe", "eth0"),
        "name": "eth0", "hwaddr": names.instrument_mac("probe", "eth0")}
    # The bus arrives as a socket inside the container, never as a network path.
    assert config["devices"]["bus"] == {
        "type": "proxy", "bind": "container", "listen": f"unix:{names.BUS_SOCKET}",
        "connect": f"tcp:{names.BUS_LISTEN}", "mode": "0666"}
    assert config["source"]["alias"] == "sensorlab/passive-probe"


def test_appliance_gets_only_the_lab_ports() -> None:
    config = appliance_config("sensorlab/appliance", {"mon0": "sl-mon-phy"})
    assert config["config"]["security.nesting"] == "true"
    assert config["devices"]["mon0"] == {"type": "nic", "nictype": "physical",
                                         "parent": "sl-mon-phy", "name": "mon0"}
    # The only other device: loop-control, for the encrypted volume images.
    assert set(config["devices"]) == {"mon0", "loop-control"}
    assert "b 7:* rwm" in config["config"]["raw.lxc"]


def test_lab_ports_map_ports_to_segments() -> None:
    # The management port is always given: it is what instruments must not reach.
    assert deploy.lab_ports(passive_deployment("probe")) == {"mon0": "mon", "mgmt0": "mgmt"}


def test_a_port_the_lab_does_not_have_is_refused() -> None:
    bad = Deployment(instruments=(), mirror_bridges=("slmir0",),
                     mirrors=(MirrorSpec(port="eth7", bridges=("slmir0",), chain="capco_eth7"),))
    with pytest.raises(SensorlabError, match="port eth7 is not a lab segment"):
        deploy.lab_ports(bad)


def test_platform_error_keeps_the_platforms_message_and_hint() -> None:
    stderr = ("sensorlab: [1/2] network ...\nsensorlab: rolled back: bridge slmir0\n"
              "sensorlab: error: instrument x: image missing\n  hint: run `inv build`\n")
    error = deploy.platform_error("the platform could not deploy", stderr)
    assert error.message == "the platform could not deploy: instrument x: image missing"
    assert error.hint == "run `inv build`"


def test_undo_runs_newest_first_and_survives_a_failing_step() -> None:
    done: list[str] = []
    undo = Undo()
    undo.push("a", lambda: done.append("a"))
    undo.push("b", lambda: 1 / 0)
    undo.push("c", lambda: done.append("c"))
    undo.rollback()
    assert done == ["c", "a"]


def test_deployment_json_round_trip_and_bad_json() -> None:
    deployment = passive_deployment("probe", "ids")
    assert Deployment.from_json(deployment.to_json()) == deployment
    with pytest.raises(ValidationError, match=r"spec\.json: not a valid deployment spec"):
        Deployment.from_json('{"instruments": 3}', source="spec.json")


def test_host_pid_follows_nspid(tmp_path: Path) -> None:
    for pid, nspid in {"10": "10", "20": "20 1", "31": "31 7 1", "40": "40 7"}.items():
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "status").write_text(f"Name:\tx\nNSpid:\t{nspid}\n")
    # pid 7 in the appliance is host pid 31 (40 is the appliance's own pid 7 lookalike).
    assert topology.host_pid(7, appliance_pid=40, proc=tmp_path) == 31
    with pytest.raises(SensorlabError):
        topology.host_pid(99, appliance_pid=40, proc=tmp_path)


def test_doctor_reports_disabled_user_namespaces(tmp_path: Path) -> None:
    (tmp_path / "sys" / "user").mkdir(parents=True)
    (tmp_path / "sys" / "user" / "max_user_namespaces").write_text("0\n")
    check = doctor.check_nesting(tmp_path)
    assert not check.ok
    assert check.line() == ("FAIL nesting: user namespaces are disabled  "
                            "(hint: sysctl -w user.max_user_namespaces=15000)")


def test_doctor_refuses_a_host_that_is_an_unprivileged_container(tmp_path: Path) -> None:
    (tmp_path / "self" / "ns").mkdir(parents=True)
    (tmp_path / "self" / "ns" / "user").write_text("")
    (tmp_path / "self" / "uid_map").write_text("         0    1000000      65536\n")
    check = doctor.check_nesting(tmp_path)
    assert not check.ok and "unprivileged container" in check.detail
    (tmp_path / "self" / "uid_map").write_text("         0          0 4294967295\n")
    assert doctor.check_nesting(tmp_path).ok
