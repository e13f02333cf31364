"""Network isolation rules: which NICs an instrument gets, decided in one place.

* ``None``: no NIC at all (the bus and UI arrive as unix sockets).
* passive: receive-only NICs on mirror bridges, each guarded by an nft drop
  chain on the host end; asking for tx anywhere is an error. The one exception
  is the Capture Engine role (phy rx, mirror-bridge tx), which is not a
  container at all: the platform does its job with nft ``dup`` (MirrorSpec).
* active: a ``bridge`` interface becomes a MAC/IP-filtered veth on a sensor
  bridge (receive-only if it lacks tx); a ``phy`` interface is a whole port,
  the upstream one by default, handed to exactly one instrument.
* mirror-bridge tx belongs to the Capture Engine alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sensorlab import names
from sensorlab.errors import ValidationError
from sensorlab.planner.manifest import Interface, InterfaceType, Manifest
from sensorlab.planner.sensor import Entry, Sensor
from sensorlab.spec import BridgedNic, MirrorNic, NetworkMode, PhysicalNic


def check_manifest(m: Manifest) -> None:
    """Rules that follow from the manifest alone."""
    if m.capture_engine:
        return
    for iface in m.interfaces:
        problem = _interface_problem(m.access, iface)
        if problem:
            raise iface.where.error(problem)


def _interface_problem(access: NetworkMode, iface: Interface) -> str | None:
    if access == NetworkMode.NONE:
        return "network_access_type None gets no network interface; remove it"
    if access == NetworkMode.PASSIVE and iface.tx:
        return (
            f"a passive instrument may not transmit: {iface.type} asks for tx "
            "(only the Capture Engine role, phy rx + mirror-bridge tx, is exempt)"
        )
    if access == NetworkMode.PASSIVE and iface.type != InterfaceType.MIRROR_BRIDGE:
        return f"a passive instrument receives only through mirror-bridge, not {iface.type}"
    if iface.type == InterfaceType.MIRROR_BRIDGE and iface.tx:
        return "only the Capture Engine transmits into mirror bridges"
    if iface.type == InterfaceType.PHY and not iface.tx:
        return "a whole phy port cannot be held receive-only from outside; use mirror-bridge"
    return None


@dataclass
class Wiring:
    """What one sensor's instruments were given, across all of them."""

    next_mirror: int = 0
    feeds: dict[str, list[str]] = field(default_factory=dict)  # port -> mirror bridges
    port_owner: dict[str, str] = field(default_factory=dict)  # whole port -> instrument


@dataclass(frozen=True)
class Nics:
    mirror: tuple[MirrorNic, ...] = ()
    bridged: tuple[BridgedNic, ...] = ()
    physical: tuple[PhysicalNic, ...] = ()


def _error(entry: Entry, key: str, sensor: Sensor, message: str) -> ValidationError:
    view = entry.view(key) or sensor.where
    if view is None:
        return ValidationError(f"instrument {entry.name}: {message}")
    return view.error(message)


def _guarded(entry: Entry, nic: str, bridge: str) -> MirrorNic:
    return MirrorNic(
        name=nic,
        bridge=bridge,
        host_veth=names.instrument_host_veth(entry.name, nic),
        peer_veth=names.instrument_peer_veth(entry.name, nic),
        mac=names.instrument_mac(entry.name, nic),
        guard_chain=names.guard_chain(entry.name, nic),
    )


def monitored_ports(entry: Entry, sensor: Sensor) -> tuple[str, ...]:
    ports = entry.monitor if entry.monitor is not None else sensor.monitored
    if not ports:
        raise _error(entry, "monitor", sensor, "needs a monitored port; the sensor defines none")
    for port in ports:
        if port not in sensor.monitored:
            raise _error(entry, "monitor", sensor, f"port {port!r} is not a monitored port "
                         f"of the sensor (ports.monitored: {list(sensor.monitored)})")
    return tuple(dict.fromkeys(ports))


def _bridge_key(entry: Entry, sensor: Sensor) -> str:
    keys = [b.key for b in sensor.bridges]
    key = entry.bridge if entry.bridge is not None else (keys[0] if len(keys) == 1 else None)
    if key is None:
        raise _error(entry, "bridge", sensor, "needs a bridge: set bridge: to one of "
                     f"{keys}" if keys else "needs a bridge but the sensor defines none")
    if key not in keys:
        raise _error(entry, "bridge", sensor, f"bridge {key!r} is not defined in bridges")
    return key


def wire(entry: Entry, m: Manifest, sensor: Sensor, state: Wiring) -> Nics:
    """The NICs for one instrument; records mirror feeds and whole-port owners in ``state``."""
    if m.capture_engine:
        monitored_ports(entry, sensor)  # validates what it would read; the helper does the rest
        return Nics()
    mirror: list[MirrorNic] = []
    bridged: list[BridgedNic] = []
    physical: list[PhysicalNic] = []
    for index, iface in enumerate(m.interfaces):
        nic = f"eth{index}"
        if iface.type == InterfaceType.MIRROR_BRIDGE:
            bridge = names.mirror_bridge(state.next_mirror)
            state.next_mirror += 1
            for port in monitored_ports(entry, sensor):
                state.feeds.setdefault(port, []).append(bridge)
            mirror.append(_guarded(entry, nic, bridge))
        elif iface.type == InterfaceType.BRIDGE:
            linux = names.active_bridge(_bridge_key(entry, sensor))
            if not iface.tx:
                mirror.append(_guarded(entry, nic, linux))
                continue
            bridged.append(BridgedNic(
                name=nic,
                bridge=linux,
                host_veth=names.instrument_host_veth(entry.name, nic),
                peer_veth=names.instrument_peer_veth(entry.name, nic),
                mac=names.instrument_mac(entry.name, nic),
                filter_chain=names.filter_chain(entry.name, nic),
                address=entry.address,
            ))
        else:
            # The platform sets the address from outside: an entrypoint cannot.
            physical.append(PhysicalNic(name=nic, port=_whole_port(entry, sensor, state),
                                        address=entry.address))
    _check_unused(entry, sensor, m)
    if entry.address and not bridged and not physical:
        raise _error(entry, "address", sensor, "address given but the manifest asks for no "
                     "bridge interface with tx and no phy interface")
    return Nics(tuple(mirror), tuple(bridged), tuple(physical))


def _whole_port(entry: Entry, sensor: Sensor, state: Wiring) -> str:
    port = entry.port if entry.port is not None else sensor.upstream
    if port is None:
        raise _error(entry, "port", sensor, "needs a phy port but the sensor has no ports.upstream")
    if port != sensor.upstream:
        raise _error(entry, "port", sensor, f"port {port!r} is not defined as ports.upstream")
    owner = state.port_owner.setdefault(port, entry.name)
    if owner != entry.name:
        raise _error(entry, "port", sensor, f"port {port!r} is already handed to {owner}")
    return port


def _check_unused(entry: Entry, sensor: Sensor, m: Manifest) -> None:
    # A setting the manifest gives no use for is a mistake worth stopping on.
    kinds = {i.type for i in m.interfaces}
    if entry.bridge is not None and InterfaceType.BRIDGE not in kinds:
        raise _error(entry, "bridge", sensor, f"bridge given but {m.type} asks for no bridge "
                     "interface")
    if entry.port is not None and InterfaceType.PHY not in kinds:
        raise _error(entry, "port", sensor, f"port given but {m.type} asks for no phy interface")
    if entry.monitor is not None and InterfaceType.MIRROR_BRIDGE not in kinds:
        raise _error(entry, "monitor", sensor, f"monitor given but {m.type} asks for no "
                     "mirror-bridge interface")
