"""Sensor file + manifests -> Plan: the Deployment and every file the platform applies.

Pure apart from reading the input files: the same inputs give the same plan,
byte for byte. All cross-instrument rules (relations, event ownership,
wiring) are checked here before anything is rendered, so an invalid input
never yields a partial plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sensorlab import names
from sensorlab.errors import ValidationError
from sensorlab.planner import bus, network
from sensorlab.planner.manifest import Manifest, load_manifest
from sensorlab.planner.sensor import Entry, Sensor, default_sensor, load_sensor
from sensorlab.spec import (
    BridgeSpec,
    BusAccess,
    Deployment,
    InstrumentSpec,
    MirrorSpec,
    StorageSpec,
    UiSpec,
)


@dataclass(frozen=True)
class Plan:
    sensor: Sensor
    manifests: Mapping[str, Manifest]  # instrument name -> its manifest
    helpers: tuple[str, ...]  # entries the platform serves itself (Capture Engine)
    deployment: Deployment

    def files(self) -> dict[str, str]:
        from sensorlab.planner.render import render_files

        return render_files(self)

    def write(self, out_dir: Path) -> None:
        from sensorlab.planner.render import write_files

        write_files(self.files(), out_dir)


class _Manifests:
    """Loads each manifest file once, however many instruments use it."""

    def __init__(self) -> None:
        self._cache: dict[Path, Manifest] = {}

    def load(self, path: Path) -> Manifest:
        key = path.resolve()
        if key not in self._cache:
            self._cache[key] = load_manifest(path)
            network.check_manifest(self._cache[key])
        return self._cache[key]


def _find(entry: Entry, sensor: Sensor) -> Path:
    itype = entry.type or entry.name
    candidates = [d / itype / "manifest.yaml" for d in sensor.search]
    candidates += [d / f"{itype}.yaml" for d in sensor.search]
    for candidate in candidates:
        try:
            if candidate.is_file():
                return candidate
        except (OSError, ValueError):
            continue  # unreadable or unrepresentable search paths just do not match
    view = entry.view("type") or sensor.where
    message = f"no manifest for instrument type {itype!r}"
    hint = f"looked in: {', '.join(map(str, sensor.search))} (set manifest: or manifests:)"
    if view is None:
        raise ValidationError(message, hint=hint)
    raise view.error(message, hint=hint)


def _resolve(sensor: Sensor, loader: _Manifests) -> dict[str, Manifest]:
    found: dict[str, Manifest] = {}
    for entry in sensor.instruments:
        m = loader.load(entry.manifest if entry.manifest is not None else _find(entry, sensor))
        if entry.type is not None and entry.type != m.type:
            view = entry.view("type")
            message = f"type {entry.type!r} does not match the manifest's type {m.type!r}"
            raise view.error(message) if view else ValidationError(message)
        found[entry.name] = m
    return found


def _check_relations(manifests: Mapping[str, Manifest]) -> None:
    present = {m.type for m in manifests.values()}
    for name in sorted(manifests):
        for relation in manifests[name].relations:
            if relation.required and relation.instrument_type not in present:
                raise relation.where.error(
                    f"{name} requires an instrument of type {relation.instrument_type!r}, "
                    "which the sensor does not run",
                    hint="add one to the sensor file, or drop this instrument",
                )


def _check_events(manifests: Mapping[str, Manifest]) -> None:
    # Group by first token: only subjects sharing it can overlap.
    claimed: dict[str, list[tuple[str, str]]] = {}
    for name in sorted(manifests):
        own: set[str] = set()
        for event in manifests[name].events:
            subject = event.subject
            if subject in own:
                continue
            own.add(subject)
            for other_name, other in claimed.get(subject.split(".")[0], []):
                if other_name != name and bus.overlap(subject, other):
                    raise event.where.error(
                        f"event subject {subject!r} of {name} overlaps {other!r} of "
                        f"{other_name}: each event subject has exactly one publisher"
                    )
            claimed.setdefault(subject.split(".")[0], []).append((name, subject))


def build(sensor: Sensor) -> Plan:
    manifests = _resolve(sensor, _Manifests())
    _check_relations(manifests)
    helpers = tuple(sorted(n for n, m in manifests.items() if m.capture_engine))
    runs = {n: m for n, m in manifests.items() if n not in helpers}
    _check_events(runs)
    entries = {e.name: e for e in sensor.instruments}
    state = network.Wiring()
    nics = {name: network.wire(entries[name], manifests[name], sensor, state)
            for name in sorted(manifests)}
    access = bus.access(_party(name, runs[name], set(m.type for m in runs.values()))
                        for name in runs)
    instruments = tuple(
        _instrument(entries[name], runs[name], nics[name], access[name]) for name in sorted(runs)
    )
    mirrors = tuple(
        MirrorSpec(port=port, bridges=tuple(bridges), chain=names.capco_chain(port))
        for port, bridges in sorted(state.feeds.items())
    )
    deployment = Deployment(
        instruments=instruments,
        mirror_bridges=tuple(names.mirror_bridge(i) for i in range(state.next_mirror)),
        mirrors=mirrors,
        bridges=tuple(BridgeSpec(names.active_bridge(b.key), b.port) for b in sensor.bridges),
        sensor=sensor.name,
    )
    return Plan(sensor=sensor, manifests=manifests, helpers=helpers, deployment=deployment)


def _party(name: str, m: Manifest, present: set[str]) -> bus.Party:
    related = {r.instrument_type: r.permissions for r in m.relations
               if r.instrument_type in present}
    return bus.Party(
        name=name,
        type=m.type,
        events=tuple(dict.fromkeys(e.subject for e in m.events)),
        reads=frozenset(related),
        finds=frozenset(t for t, p in related.items() if "find" in p),
        messages=frozenset(t for t, p in related.items() if "direct_message" in p),
    )


def _instrument(entry: Entry, m: Manifest, nics: network.Nics, access: BusAccess) -> InstrumentSpec:
    return InstrumentSpec(
        name=entry.name,
        type=m.type,
        container=names.instrument_container(entry.name),
        image=m.image.name,
        network=m.access,
        nics=nics.mirror,
        limits=m.limits,
        bridged_nics=nics.bridged,
        physical_nics=nics.physical,
        storage=StorageSpec(
            persistent_bytes=m.storage.persistent_bytes,
            transient_bytes=m.storage.transient_bytes,
            retention_seconds=m.storage.retention_seconds,
            persistent_image=names.persistent_image(entry.name),
            persistent_mount=names.persistent_mount(entry.name),
            transient_mount=names.transient_mount(entry.name),
        ),
        bus=access,
        ui=UiSpec(m.ui_port, names.ui_socket(entry.name), names.ui_route(entry.name))
        if m.ui_port is not None else None,
        settings=entry.settings,
    )


def plan_sensor(path: Path) -> Plan:
    """Plan the sensor described by ``path`` (a sensor.yaml)."""
    return build(load_sensor(path))


def plan_manifests(paths: list[Path]) -> Plan:
    """Plan a sensor of just these instruments (one each, named by type), default wiring."""
    if not paths:
        raise ValidationError("no manifests given", hint="pass --manifest FILE at least once")
    loader = _Manifests()
    loaded = [(path, loader.load(path)) for path in paths]
    seen: dict[str, Path] = {}
    for path, m in loaded:
        if m.type in seen:
            raise m.where.error(
                f"duplicate instrument {m.type!r}: {seen[m.type]} has the same type",
                hint="plan a sensor file to run two instruments of one type",
            )
        seen[m.type] = path
    kinds = {(i.type.value) for _, m in loaded if not m.capture_engine for i in m.interfaces}
    sensor = default_sensor(
        [(m.type, path) for path, m in loaded], needs_upstream="phy" in kinds,
        needs_bridge="bridge" in kinds,
    )
    return build(sensor)
