"""The sensor file: which instruments run, on which ports and bridges, with what settings.

Schema (docs/sensor-file.md has the long form)::

    sensor: lab                     # optional label
    manifests: [../instruments]     # folders searched for <type>/manifest.yaml or <type>.yaml
    ports:
      monitored: [mon0]             # mirrored by the Capture Engine into mirror bridges
      upstream: up0                 # handed whole to the Downloader
    bridges:
      prot: {port: prot0}           # bridge for active instruments -> its physical port
    instruments:
      probe:                        # instrument name (LXD-valid)
        type: passive-probe         # default: the name
        manifest: ../x/probe.yaml   # default: searched in `manifests`
        monitor: [mon0]             # passive: ports to mirror to it (default: all monitored)
        bridge: prot                # active `bridge` interface (default: the only bridge)
        address: 198.18.1.10/24     # active: the only IPv4 source it may use (default: any)
        port: up0                   # `phy` interface (default: the upstream port)
        settings: {any: mapping}    # handed to the instrument as JSON
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from pathlib import Path

from sensorlab import names
from sensorlab.planner import source
from sensorlab.planner.source import View

_TOP = {"sensor", "manifests", "ports", "bridges", "instruments"}
_ENTRY = {"type", "manifest", "monitor", "bridge", "address", "port", "settings"}
RESERVED_NAMES = frozenset({names.PLATFORM_BUS_USER})
# The plan's default wiring: the lab segments the harness creates.
DEFAULT_MONITORED = names.appliance_port("mon")
DEFAULT_UPSTREAM = names.appliance_port("up")
DEFAULT_BRIDGE = "prot"
DEFAULT_BRIDGE_PORT = names.appliance_port("prot")


@dataclass(frozen=True)
class Bridge:
    key: str
    port: str
    where: View | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Entry:
    name: str
    type: str | None  # None: the manifest's type (or the name, when searching)
    manifest: Path | None
    monitor: tuple[str, ...] | None = None
    bridge: str | None = None
    address: str = ""
    port: str | None = None
    settings: str = "{}"
    where: View | None = field(default=None, compare=False, repr=False)

    def view(self, key: str) -> View | None:
        """Where ``key`` was written, for error messages (None for generated entries)."""
        if self.where is None:
            return None
        fields = self.where.mapping()
        return fields.get(key, self.where)


@dataclass(frozen=True)
class Sensor:
    name: str
    search: tuple[Path, ...]
    monitored: tuple[str, ...]
    upstream: str | None
    bridges: tuple[Bridge, ...]
    instruments: tuple[Entry, ...]
    where: View | None = field(default=None, compare=False, repr=False)


def load_sensor(path: Path) -> Sensor:
    data, src = source.load(path)
    return parse_sensor(View(data, src), path)


def _port(view: View) -> str:
    name = view.text()
    if not names.valid_link_name(name):
        raise view.error(
            f"{name!r} is not a valid interface name", hint="at most 15 of [A-Za-z0-9_.-]"
        )
    if name.startswith(names.PREFIX):
        raise view.error(f"port name {name!r} uses the prefix {names.PREFIX!r}, which is "
                         "reserved for the links sensorlab creates")
    return name


def parse_sensor(root: View, path: Path) -> Sensor:
    fields = root.only(_TOP)
    base = path.parent
    search = (
        tuple(base / p for p in fields["manifests"].strings())
        if "manifests" in fields
        else (base / "../instruments",)
    )
    ports = fields["ports"].only({"monitored", "upstream"}) if "ports" in fields else {}
    monitored = tuple(_port(v) for v in ports["monitored"].items()) if "monitored" in ports else ()
    upstream = _port(ports["upstream"]) if "upstream" in ports else None
    bridges = tuple(
        _bridge(key, view) for key, view in (fields["bridges"].mapping().items()
                                              if "bridges" in fields else [])
    )
    _check_ports(monitored, upstream, bridges, fields.get("ports") or root)
    if "instruments" not in fields:
        raise root.error("instruments is missing", hint="a mapping of instrument name -> settings")
    entries = tuple(
        _entry(name, view, base) for name, view in fields["instruments"].mapping().items()
    )
    return Sensor(
        name=fields["sensor"].text() if "sensor" in fields else path.stem,
        search=search,
        monitored=monitored,
        upstream=upstream,
        bridges=bridges,
        instruments=entries,
        where=root,
    )


def _bridge(key: str, view: View) -> Bridge:
    if not names.valid_lxd_name(key) or not names.valid_link_name(names.active_bridge(key)):
        raise view.error(
            f"bridge name {key!r} is not valid",
            hint=f"lower-case letters, digits and hyphens; {names.active_bridge(key)!r} "
            "must fit in 15 characters",
        )
    fields = view.only({"port"})
    if "port" not in fields:
        raise view.error("bridge port is missing", hint="the physical port the bridge uses")
    return Bridge(key, _port(fields["port"]), view)


def _check_ports(
    monitored: tuple[str, ...], upstream: str | None, bridges: tuple[Bridge, ...],
    where: View,
) -> None:
    seen: dict[str, str] = {}
    uses: list[tuple[str, str, View | None]] = [(p, "monitored", where) for p in monitored]
    uses += [(upstream, "upstream", where)] if upstream else []
    uses += [(b.port, f"bridge {b.key}", b.where) for b in bridges]
    for port, use, view in uses:
        if port in seen:
            raise (view or where).error(f"port {port!r} is used twice ({seen[port]} and {use})")
        seen[port] = use


def _entry(name: str, view: View, base: Path) -> Entry:
    if name in RESERVED_NAMES or not names.valid_lxd_name(names.instrument_container(name)) \
            or not names.valid_lxd_name(name):
        raise view.error(
            f"instrument name {name!r} is not valid",
            hint="lower-case letters, digits and single hyphens, starting with a letter, "
            f"at most 58 characters, not {', '.join(sorted(RESERVED_NAMES))}",
        )
    fields = view.only(_ENTRY) if view.value is not None else {}
    itype = fields["type"].text() if "type" in fields else None
    if itype is not None and not names.valid_lxd_name(itype):
        raise fields["type"].error(f"instrument type {itype!r} is not a valid name")
    address = fields["address"].text() if "address" in fields else ""
    if address:
        try:
            ipaddress.IPv4Interface(address)
        except ValueError:
            raise fields["address"].error(f"{address!r} is not an IPv4 address/prefix") from None
    return Entry(
        name=name,
        type=itype,
        manifest=base / fields["manifest"].text() if "manifest" in fields else None,
        monitor=tuple(_port(v) for v in fields["monitor"].items()) if "monitor" in fields
        else None,
        bridge=fields["bridge"].text() if "bridge" in fields else None,
        address=address,
        port=_port(fields["port"]) if "port" in fields else None,
        settings=_settings(fields.get("settings")),
        where=view,
    )


def _settings(view: View | None) -> str:
    if view is None:
        return "{}"
    view.mapping()
    try:
        return json.dumps(view.value, sort_keys=True, separators=(",", ":"), allow_nan=False,
                          default=str)
    except (ValueError, RecursionError) as exc:
        raise view.error(f"settings cannot be expressed as JSON: {exc}") from None


def default_sensor(
    types: list[tuple[str, Path]], needs_upstream: bool, needs_bridge: bool
) -> Sensor:
    """A sensor of just these instruments, wired to the harness's lab ports."""
    return Sensor(
        name="manifests",
        search=(),
        monitored=(DEFAULT_MONITORED,),
        upstream=DEFAULT_UPSTREAM if needs_upstream else None,
        bridges=(Bridge(DEFAULT_BRIDGE, DEFAULT_BRIDGE_PORT),) if needs_bridge else (),
        instruments=tuple(Entry(name=t, type=t, manifest=p) for t, p in types),
    )
