"""Each instrument's LXD profile: isolation config plus every device it gets.

NICs use ``nictype: physical`` on veths the platform made and guarded before
start (LXD's bridged NIC would create the host end only at start, leaving a
moment with no filter). The bus and the UI arrive as proxy devices, so an
instrument with no NIC still reaches both and nothing else.
"""

from __future__ import annotations

from typing import Any

from sensorlab import names
from sensorlab.planner.units import format_size
from sensorlab.spec import InstrumentSpec


def config(spec: InstrumentSpec) -> dict[str, str]:
    return {
        "security.privileged": "false",
        "security.idmap.isolated": "true",
        "security.nesting": "false",
        "limits.cpu": str(spec.limits.cpu),
        "limits.memory": spec.limits.memory,
        "limits.memory.enforce": "hard",
        "limits.processes": str(spec.limits.processes),
        "user.sensorlab.instrument": spec.name,
        "user.sensorlab.type": spec.type,
    }


def nic_devices(spec: InstrumentSpec) -> dict[str, dict[str, str]]:
    """The instrument's NICs only: every other device is added by its own issue's code."""
    found: dict[str, dict[str, str]] = {}
    veths = [(n.name, n.peer_veth, n.mac) for n in spec.nics]
    veths += [(n.name, n.peer_veth, n.mac) for n in spec.bridged_nics]
    for name, peer, mac in veths:
        found[name] = {"type": "nic", "nictype": "physical", "parent": peer, "name": name,
                       "hwaddr": mac}
    for phy in spec.physical_nics:
        found[phy.name] = {"type": "nic", "nictype": "physical", "parent": phy.port,
                           "name": phy.name}
    return found


def bus_device() -> dict[str, str]:
    """The bus socket inside the container, proxied to the appliance's loopback NATS.

    ``bind=container``: LXD listens inside the instrument and connects from
    the appliance, so no network path to the bus exists. The socket's
    directory must exist before start (the platform makes it).
    """
    return {
        "type": "proxy",
        "bind": "container",
        "listen": f"unix:{names.BUS_SOCKET}",
        "connect": f"tcp:{names.BUS_LISTEN}",
        "mode": "0666",
    }


def devices(spec: InstrumentSpec) -> dict[str, dict[str, str]]:
    found = nic_devices(spec)
    found["bus"] = bus_device()
    if spec.ui is not None:
        found["ui"] = {
            "type": "proxy",
            "bind": "host",
            "listen": f"unix:{spec.ui.socket}",
            "connect": f"tcp:127.0.0.1:{spec.ui.port}",
            "mode": "0660",
        }
    found.update(storage_devices(spec))
    return found


def storage_devices(spec: InstrumentSpec) -> dict[str, dict[str, str]]:
    """The instrument's own two volumes, at fixed paths; sources the platform mounted."""
    return {
        "persistent": {
            "type": "disk",
            "source": spec.storage.persistent_mount,
            "path": names.INSTRUMENT_PERSISTENT_DIR,
        },
        "transient": {
            "type": "disk",
            "source": spec.storage.transient_mount,
            "path": names.INSTRUMENT_TRANSIENT_DIR,
        },
    }


def profile(spec: InstrumentSpec) -> dict[str, Any]:
    storage = spec.storage
    return {
        "name": names.instrument_profile(spec.name),
        "description": (
            f"sensorlab {spec.type} instrument {spec.name}: {spec.network}, "
            f"persistent {format_size(storage.persistent_bytes)}, "
            f"transient {format_size(storage.transient_bytes)}"
        ),
        "config": config(spec),
        "devices": devices(spec),
    }
