"""Active wiring on the appliance: sensor bridges, filtered veths, addresses from outside.

A sensor bridge ``slbr-<key>`` holds exactly one physical port and the host
ends of the active instruments' veths, so an active instrument's frames can
only reach that port's segment. The bridge has no address, and its ingress
chain (nftables.py) keeps every frame away from the appliance's own stack.

Instruments cannot configure their interfaces (their entrypoint runs as an
unprivileged user), so the platform sets the addresses the sensor file names
from outside, with ``nsenter`` into the instrument's network namespace.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from pyroute2 import IPRoute

from sensorlab.errors import SensorlabError
from sensorlab.platform import network
from sensorlab.run import run
from sensorlab.spec import Deployment, InstrumentSpec

Push = Callable[[str, Callable[[], object]], None]


def apply_links(deployment: Deployment, push: Push | None = None) -> None:
    """Sensor bridges with their one port, and the active instruments' veths. Idempotent."""
    for bridge in deployment.bridges:
        if network.ensure_bridge(bridge.name) and push:
            push(f"bridge {bridge.name}", partial(network.delete_link, bridge.name))
        enslave(bridge.port, bridge.name)
    for spec in deployment.instruments:
        for nic in spec.bridged_nics:
            if network.ensure_veth(nic.host_veth, nic.peer_veth, nic.mac, nic.bridge) and push:
                push(f"veth {nic.host_veth}", partial(network.delete_link, nic.host_veth))


def enslave(port: str, bridge: str) -> None:
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=port)
        if not found:
            raise SensorlabError(
                f"port {port} of bridge {bridge} does not exist on the appliance",
                hint="the sensor file names a port the appliance was not given",
            )
        master = ipr.link_lookup(ifname=bridge)[0]
        ipr.link("set", index=found[0], master=master, state="up")
    # The port is a bridge port now: it must not carry an address of its own.
    network.disable_ipv6(port)


def remove_links(deployment: Deployment) -> None:
    for spec in deployment.instruments:
        for nic in spec.bridged_nics:
            network.delete_link(nic.host_veth)
    for bridge in deployment.bridges:
        network.delete_link(bridge.name)  # releases its port


def address_commands(spec: InstrumentSpec) -> list[list[str]]:
    """``ip`` argv (run inside the instrument's netns) for its addresses. Pure."""
    commands: list[list[str]] = []
    wanted = [(n.name, n.address) for n in spec.bridged_nics]
    wanted += [(n.name, n.address) for n in spec.physical_nics]
    for nic, address in wanted:
        if address:
            commands.append(["ip", "address", "replace", address, "dev", nic])
        # No default route is ever added: the lab has nowhere to route to.
        commands.append(["ip", "link", "set", nic, "up"])
    return commands


def configure_addresses(spec: InstrumentSpec, pid: int | None) -> None:
    """Run ``address_commands`` in the running instrument's network namespace."""
    commands = address_commands(spec)
    if not commands:
        return
    if not pid:
        raise SensorlabError(f"instrument {spec.name}: not running, cannot set its addresses")
    for argv in commands:
        run(["nsenter", f"--net=/proc/{pid}/ns/net", "--", *argv])
