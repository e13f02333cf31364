"""What the platform applies: frozen dataclasses, serialised as JSON.

The planner (CI host) produces a ``Deployment``; the platform (appliance)
loads it and applies it. JSON is the wire format because the appliance runs
Debian's python3 without the harness's dependencies.
"""

from __future__ import annotations

import json
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
class InstrumentSpec:
    name: str
    type: str
    container: str
    image: str  # image name: build/images/<image>.tar, alias sensorlab/<image>
    network: NetworkMode
    nics: tuple[MirrorNic, ...] = ()
    limits: Limits = field(default_factory=Limits)


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
    instruments = tuple(
        InstrumentSpec(
            name=i["name"],
            type=i["type"],
            container=i["container"],
            image=i["image"],
            network=NetworkMode(i["network"]),
            nics=tuple(MirrorNic(**n) for n in i["nics"]),
            limits=Limits(**i["limits"]),
        )
        for i in raw["instruments"]
    )
    mirrors = tuple(
        MirrorSpec(port=m["port"], bridges=tuple(m["bridges"]), chain=m["chain"])
        for m in raw["mirrors"]
    )
    return Deployment(
        instruments=instruments,
        mirror_bridges=tuple(raw["mirror_bridges"]),
        mirrors=mirrors,
    )
