"""The appliance as deployed: its own LXD up, instruments unprivileged and alone."""

from __future__ import annotations

import json
from typing import Any

import pytest

from integration.appliance_host import appliance
from sensorlab.spec import Deployment

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def host(deployment: Deployment) -> Any:
    return appliance()


def test_inner_lxd_came_up_on_its_own(host: Any) -> None:
    assert host.service("lxd").is_running
    assert host.service("sensorlab-lxd-init").is_valid
    assert host.run("systemctl is-active sensorlab-lxd-init").stdout.strip() == "active"
    # The cgroup quirk: cpuacct must be a real mount for nested containers.
    assert host.mount_point("/sys/fs/cgroup/cpuacct").exists


def test_instruments_are_unprivileged_with_isolated_idmaps(host: Any,
                                                           deployment: Deployment) -> None:
    maps = set()
    for spec in deployment.instruments:
        info = json.loads(host.check_output(f"lxc query /1.0/instances/{spec.container}"))
        config = info["expanded_config"]
        assert config["security.privileged"] == "false"
        assert config["security.idmap.isolated"] == "true"
        assert config.get("security.nesting", "false") == "false"
        state = json.loads(host.check_output(f"lxc query /1.0/instances/{spec.container}/state"))
        uid_map = host.file(f"/proc/{state['pid']}/uid_map").content_string.split()
        assert uid_map[0] == "0" and int(uid_map[1]) >= 1000000, uid_map
        maps.add(uid_map[1])
    assert len(maps) == len(deployment.instruments), "instruments share a uid range"


def test_passive_instrument_sees_only_its_own_nic_and_processes(host: Any,
                                                                deployment: Deployment) -> None:
    for spec in deployment.instruments:
        links = host.check_output(f"lxc exec {spec.container} -- ls /sys/class/net").split()
        nics = [n.name for n in spec.nics] + [n.name for n in spec.bridged_nics]
        nics += [n.name for n in spec.physical_nics]
        assert sorted(links) == sorted(["lo", *nics])
        for nic in spec.nics:
            mac = host.check_output(
                f"lxc exec {spec.container} -- cat /sys/class/net/{nic.name}/address")
            assert mac.strip() == nic.mac
        processes = host.check_output(f"lxc exec {spec.container} -- ps -o comm")
        assert "lxd" not in processes and "systemd" not in processes
