"""Instrument manifests: SensorFleet's published schema plus a ``sensorlab`` section.

SensorFleet files load unchanged: keys sensorlab does not use are ignored,
``network_access_type: None`` is the string it looks like, and every
sensorlab setting has a default. The ``sensorlab`` section is our own schema,
so unknown keys there are errors rather than silently ignored typos.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from sensorlab import names
from sensorlab.planner import bus, source
from sensorlab.planner.source import View
from sensorlab.planner.units import format_size, parse_period, parse_size
from sensorlab.spec import Limits, NetworkMode


class InterfaceType(StrEnum):
    PHY = "phy"
    MIRROR_BRIDGE = "mirror-bridge"
    BRIDGE = "bridge"


class Capability(StrEnum):
    RX = "rx"
    TX = "tx"


class MatchType(StrEnum):
    EXACT = "exact"
    PREFIX = "prefix"


class Permission(StrEnum):
    FIND = "find"
    DIRECT_MESSAGE = "direct_message"


class ImageBase(StrEnum):
    ALPINE = "alpine"
    DEBIAN = "debian"


# SensorFleet writes the access type as a word; YAML null means the same as None.
_ACCESS = {"passive": NetworkMode.PASSIVE, "active": NetworkMode.ACTIVE, "none": NetworkMode.NONE}


@dataclass(frozen=True)
class Interface:
    type: InterfaceType
    capabilities: frozenset[Capability]
    where: View = field(compare=False, repr=False)

    @property
    def tx(self) -> bool:
        return Capability.TX in self.capabilities


@dataclass(frozen=True)
class EventType:
    match: str
    type: MatchType
    where: View = field(compare=False, repr=False)

    @property
    def subject(self) -> str:
        return bus.event_subject(self.match, self.type == MatchType.PREFIX)


@dataclass(frozen=True)
class Relation:
    instrument_type: str
    required: bool
    permissions: frozenset[Permission]
    where: View = field(compare=False, repr=False)


@dataclass(frozen=True)
class PayloadFile:
    src: str  # relative to the manifest's folder (kept relative so plans do not embed paths)
    dest: str  # absolute path inside the image
    mode: int


@dataclass(frozen=True)
class ImageBuild:
    name: str
    base: ImageBase = ImageBase.ALPINE
    packages: tuple[str, ...] = ()
    payload: tuple[PayloadFile, ...] = ()
    entrypoint: tuple[str, ...] = ()  # empty: the image's own default
    user: str = "instrument"


@dataclass(frozen=True)
class Storage:
    persistent_bytes: int = 1 << 30
    transient_bytes: int = 256 << 20
    retention_seconds: int = 30 * 86400


DEFAULT_UI_PORT = 8080


@dataclass(frozen=True)
class Manifest:
    path: str
    type: str
    title: str
    access: NetworkMode
    interfaces: tuple[Interface, ...]
    events: tuple[EventType, ...]
    relations: tuple[Relation, ...]
    has_ui: bool
    image: ImageBuild
    storage: Storage
    limits: Limits
    ui_port: int | None
    where: View = field(compare=False, repr=False)

    @property
    def capture_engine(self) -> bool:
        """The Capco role: reads a physical port, writes mirror bridges. A platform helper."""
        kinds = {(i.type, c) for i in self.interfaces for c in i.capabilities}
        return (
            self.access == NetworkMode.PASSIVE
            and (InterfaceType.PHY, Capability.RX) in kinds
            and (InterfaceType.MIRROR_BRIDGE, Capability.TX) in kinds
            and (InterfaceType.PHY, Capability.TX) not in kinds
            and all(i.type != InterfaceType.BRIDGE for i in self.interfaces)
        )


def load_manifest(path: Path) -> Manifest:
    data, src = source.load(path)
    return parse_manifest(View(data, src), path)


E = TypeVar("E", bound=StrEnum)


def _enum(view: View, kind: type[E], what: str) -> E:
    text = view.text()
    try:
        return kind(text)
    except ValueError:
        known = ", ".join(k.value for k in kind)
        raise view.error(f"unknown {what} {text!r}", hint=f"one of: {known}") from None


def _default_type(path: Path) -> str:
    # instruments/<type>/manifest.yaml names its type by folder.
    return path.parent.name if path.stem == "manifest" else path.stem


def parse_manifest(root: View, path: Path) -> Manifest:
    fields = root.mapping("a mapping of manifest fields")
    type_view = fields.get("instrument_type")
    itype = type_view.text() if type_view else _default_type(path)
    if not names.valid_lxd_name(itype):
        raise (type_view or root).error(
            f"instrument type {itype!r} is not a valid name",
            hint="lower-case letters, digits and single hyphens, starting with a letter "
            "(set instrument_type: to override the file name)",
        )
    title = fields["name"].text() if "name" in fields else itype
    if "network_access_type" not in fields:
        raise root.error("network_access_type is missing", hint="passive, active or None")
    access_view = fields["network_access_type"]
    word = "none" if access_view.value is None else access_view.text().lower()
    if word not in _ACCESS:
        raise access_view.error(
            f"unknown network_access_type {access_view.value!r}", hint="passive, active or None"
        )
    has_ui = fields["has_ui"].boolean() if "has_ui" in fields else False
    own = _sensorlab_section(fields.get("sensorlab"), itype, has_ui)
    return Manifest(
        path=str(path),
        type=itype,
        title=title,
        access=_ACCESS[word],
        interfaces=tuple(_interface(v) for v in _list(fields, "required_interfaces")),
        events=tuple(_event(v) for v in _list(fields, "produced_event_types")),
        relations=tuple(_relation(v) for v in _list(fields, "relations")),
        has_ui=has_ui,
        image=own[0],
        storage=own[1],
        limits=own[2],
        ui_port=own[3],
        where=root,
    )


def _list(fields: dict[str, View], key: str) -> list[View]:
    return list(fields[key].items()) if key in fields else []


def _interface(view: View) -> Interface:
    fields = view.mapping("an interface mapping (type, capabilities)")
    if "type" not in fields:
        raise view.error("interface type is missing", hint="phy, mirror-bridge or bridge")
    kind = _enum(fields["type"], InterfaceType, "interface type")
    caps = [_enum(c, Capability, "capability") for c in _list(fields, "capabilities")]
    if not caps:
        raise view.error("interface needs capabilities", hint="rx, tx or both")
    return Interface(kind, frozenset(caps), view)


def _event(view: View) -> EventType:
    fields = view.mapping("an event type mapping (match, type)")
    if "match" not in fields:
        raise view.error("event match is missing")
    kind = _enum(fields["type"], MatchType, "match type") if "type" in fields else MatchType.EXACT
    match = fields["match"].text()
    problem = bus.event_match_problem(match, kind == MatchType.PREFIX)
    if problem:
        raise fields["match"].error(problem)
    return EventType(match, kind, fields["match"])


def _relation(view: View) -> Relation:
    fields = view.mapping("a relation mapping (instrument_type, required, permissions)")
    if "instrument_type" not in fields:
        raise view.error("relation instrument_type is missing")
    target = fields["instrument_type"].text()
    if not names.valid_lxd_name(target):
        raise fields["instrument_type"].error(f"instrument type {target!r} is not a valid name")
    required = fields["required"].boolean() if "required" in fields else False
    perms = [_enum(p, Permission, "permission") for p in _list(fields, "permissions")]
    return Relation(target, required, frozenset(perms), fields["instrument_type"])


def _sensorlab_section(
    view: View | None, itype: str, has_ui: bool
) -> tuple[ImageBuild, Storage, Limits, int | None]:
    fields = view.only({"image", "storage", "limits", "ui"}) if view else {}
    image = _image(fields.get("image"), itype)
    storage = _storage(fields.get("storage"))
    limits = _limits(fields.get("limits"))
    ui = fields.get("ui")
    port: int | None = DEFAULT_UI_PORT if has_ui else None
    if ui is not None:
        ui_fields = ui.only({"port"})
        if not has_ui:
            raise ui.error("ui settings given but has_ui is not true")
        if "port" in ui_fields:
            port = _bounded(ui_fields["port"], 1, 65535)
    return image, storage, limits, port


def _bounded(view: View, low: int, high: int) -> int:
    value = view.integer()
    if not low <= value <= high:
        raise view.error(f"{value} is out of range ({low} to {high})")
    return value


def _size(view: View) -> int:
    try:
        return parse_size(view.text())
    except ValueError as exc:
        raise view.error(str(exc)) from None


def _period(view: View) -> int:
    try:
        return parse_period(view.text())
    except ValueError as exc:
        raise view.error(str(exc)) from None


def _image(view: View | None, itype: str) -> ImageBuild:
    if view is None:
        return ImageBuild(name=itype)
    fields = view.only({"name", "base", "packages", "payload", "entrypoint", "user"})
    name = fields["name"].text() if "name" in fields else itype
    if not names.valid_lxd_name(name):
        raise fields["name"].error(f"image name {name!r} is not a valid name")
    entry = fields.get("entrypoint")
    entrypoint: tuple[str, ...] = ()
    if entry is not None:
        entrypoint = (entry.text(),) if isinstance(entry.value, str) else entry.strings()
    base = _enum(fields["base"], ImageBase, "image base") if "base" in fields else ImageBase.ALPINE
    return ImageBuild(
        name=name,
        base=base,
        packages=tuple(sorted(set(fields["packages"].strings()))) if "packages" in fields else (),
        payload=tuple(_payload(v) for v in _list(fields, "payload")),
        entrypoint=entrypoint,
        user=fields["user"].text() if "user" in fields else "instrument",
    )


def _payload(view: View) -> PayloadFile:
    fields = view.only({"src", "dest", "mode"})
    for key in ("src", "dest"):
        if key not in fields:
            raise view.error(f"payload {key} is missing")
    src, dest = fields["src"].text(), fields["dest"].text()
    if src.startswith("/") or ".." in Path(src).parts:
        raise fields["src"].error("payload src must be a path inside the instrument's folder")
    if not dest.startswith("/"):
        raise fields["dest"].error("payload dest must be an absolute path in the image")
    mode = _bounded(fields["mode"], 0, 0o7777) if "mode" in fields else 0o644
    return PayloadFile(src=src, dest=dest, mode=mode)


def _storage(view: View | None) -> Storage:
    fields = view.only({"persistent", "transient", "retention"}) if view else {}
    default = Storage()
    return Storage(
        persistent_bytes=_size(fields["persistent"]) if "persistent" in fields
        else default.persistent_bytes,
        transient_bytes=_size(fields["transient"]) if "transient" in fields
        else default.transient_bytes,
        retention_seconds=_period(fields["retention"]) if "retention" in fields
        else default.retention_seconds,
    )


def _limits(view: View | None) -> Limits:
    fields = view.only({"cpu", "memory", "processes"}) if view else {}
    default = Limits()
    memory = default.memory
    if "memory" in fields:
        memory_bytes = _size(fields["memory"])
        if memory_bytes < 16 << 20:
            raise fields["memory"].error("memory limit must be at least 16MiB")
        memory = format_size(memory_bytes)
    return Limits(
        cpu=_bounded(fields["cpu"], 1, 256) if "cpu" in fields else default.cpu,
        memory=memory,
        processes=_bounded(fields["processes"], 8, 1 << 22) if "processes" in fields
        else default.processes,
    )
