"""What the platform applies: frozen dataclasses, serialised as JSON.

The planner (CI host) produces a ``Deployment``; the platform (appliance)
loads it and applies it. JSON is the wire format because the appliance runs
Debian's python3 without the harness's dependencies.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from sensorlab.errors import ValidationError


class NetworkMode(StrEnum):
    PASSIVE = "passive"
    ACTIVE = "active"
    NONE = "none"


@dataclass(frozen=True)
class Limits:
    cpu: int = 1
    memory: str = "256MiB"
    processes: int = 256


@dataclass(frozen=True)
class MirrorNic:
    """A receive-only NIC on a mirror bridge.

    The platform creates the veth pair itself and attaches the drop rule to
    ``host_veth`` *before* the container starts, so there is no window in which
    the instrument can transmit.
    """

    name: str  # interface name inside the instrument
    bridge: str
    host_veth: str
    peer_veth: str
    mac: str
    guard_chain: str


@dataclass(frozen=True)
class BridgedNic:
    """An active NIC on a sensor bridge, on a veth the platform made.

    ``filter_chain`` is attached to ``host_veth`` before the container starts
    and drops every frame not sent from ``mac`` (and, when ``address`` is set,
    every IPv4/ARP packet not from that address): MAC/IP filtering outside the
    container.
    """

    name: str
    bridge: str
    host_veth: str
    peer_veth: str
    mac: str
    filter_chain: str
    address: str = ""  # IPv4 CIDR the instrument must use; "" means MAC filtering only
    address6: str = ""  # IPv6 CIDR likewise; with only ``address`` set, IPv6 is dropped


@dataclass(frozen=True)
class PhysicalNic:
    """A whole appliance port handed into one instrument (the Downloader's upstream)."""

    name: str
    port: str
    address: str = ""  # IPv4 CIDR the platform configures on it from outside; "" none


@dataclass(frozen=True)
class BridgeSpec:
    """A Linux bridge for active instruments, tied to one physical port."""

    name: str
    port: str


@dataclass(frozen=True)
class StorageSpec:
    """Per-instrument volumes; nothing is shared between instruments."""

    persistent_bytes: int = 1 << 30
    transient_bytes: int = 256 << 20
    retention_seconds: int = 30 * 86400
    persistent_image: str = ""  # host file: encrypted ext4, sized to cap the volume
    persistent_mount: str = ""  # host mount point, bound into the container
    transient_mount: str = ""  # host tmpfs (size-capped), wiped at stop


@dataclass(frozen=True)
class BusAccess:
    """One NATS user: what it may publish and subscribe to (allow lists)."""

    user: str = ""
    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()
    inbox: str = ""  # reply-subject prefix the client must use


@dataclass(frozen=True)
class UiSpec:
    port: int  # the instrument's HTTP port inside its container
    socket: str  # host-side unix socket the Sensor UI proxies to
    route: str  # /instruments/<name>/


@dataclass(frozen=True)
class InstrumentSpec:
    name: str
    type: str
    container: str
    image: str  # image name: build/images/<image>.tar, alias sensorlab/<image>
    network: NetworkMode
    nics: tuple[MirrorNic, ...] = ()
    limits: Limits = field(default_factory=Limits)
    bridged_nics: tuple[BridgedNic, ...] = ()
    physical_nics: tuple[PhysicalNic, ...] = ()
    storage: StorageSpec = field(default_factory=StorageSpec)
    bus: BusAccess = field(default_factory=BusAccess)
    ui: UiSpec | None = None
    settings: str = "{}"  # the sensor file's settings for it, canonical JSON


@dataclass(frozen=True)
class MirrorSpec:
    """Capco: copy every frame received on ``port`` into each bridge."""

    port: str
    bridges: tuple[str, ...]
    chain: str


@dataclass(frozen=True)
class Deployment:
    instruments: tuple[InstrumentSpec, ...]
    mirror_bridges: tuple[str, ...]
    mirrors: tuple[MirrorSpec, ...]
    bridges: tuple[BridgeSpec, ...] = ()
    sensor: str = ""

    def instrument(self, name: str) -> InstrumentSpec:
        for spec in self.instruments:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "<deployment>") -> Deployment:
        try:
            raw = json.loads(text)
            return _deployment_from_dict(raw)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationError(f"{source}: not a valid deployment spec: {exc!r}") from exc


def _deployment_from_dict(raw: dict[str, Any]) -> Deployment:
    deployment: Deployment = _from_dict(Deployment, raw)
    return deployment


def _from_dict(cls: type[Any], raw: Any) -> Any:
    """Rebuild a spec dataclass from ``asdict`` output; absent fields take defaults."""
    if not isinstance(raw, dict):
        raise TypeError(f"{cls.__name__}: expected an object, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    kwargs = {
        f.name: _convert(hints[f.name], raw[f.name])
        for f in dataclasses.fields(cls)
        if f.name in raw
    }
    return cls(**kwargs)


def _convert(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is types.UnionType or origin is typing.Union:
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return None if value is None else _convert(options[0], value)
    if origin is tuple:
        return tuple(_convert(typing.get_args(hint)[0], item) for item in value)
    if dataclasses.is_dataclass(hint):
        return _from_dict(hint, value)  # type: ignore[arg-type]
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return hint(value)
    if hint in (int, str, bool) and not isinstance(value, hint):
        raise TypeError(f"expected {hint.__name__}, got {value!r}")
    return value
