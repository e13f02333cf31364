"""Instrument containers in the appliance's own LXD, through pylxd."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pylxd
from pylxd.exceptions import LXDAPIException, NotFound

from sensorlab.errors import SensorlabError
from sensorlab.names import instrument_image_alias
from sensorlab.planner import render_lxd
from sensorlab.spec import InstrumentSpec


def client() -> Any:
    try:
        return pylxd.Client()
    except Exception as exc:  # pylxd raises bare ClientConnectionFailed and friends
        raise SensorlabError(
            f"the appliance's LXD is not reachable: {exc}",
            hint="is lxd running inside the appliance? see `journalctl -u lxd`",
        ) from exc


def import_image(lxd: Any, tarball: Path, alias: str) -> str:
    """Import a unified image tarball unless its fingerprint is known; point alias at it."""
    data = tarball.read_bytes()
    fingerprint = hashlib.sha256(data).hexdigest()
    if not lxd.images.exists(fingerprint):
        lxd.images.create(data, public=False, wait=True)
    try:
        current = lxd.images.get_by_alias(alias)
        if current.fingerprint == fingerprint:
            return fingerprint
        current.delete_alias(alias)
    except NotFound:
        pass
    lxd.images.get(fingerprint).add_alias(alias, "sensorlab instrument image")
    return fingerprint


def container_config(spec: InstrumentSpec) -> dict[str, Any]:
    """The LXD create request for one instrument: the planner's config, NICs and bus.

    The UI device joins when the platform learns to provide its socket.
    """
    return {
        "name": spec.container,
        "source": {"type": "image", "alias": instrument_image_alias(spec.image)},
        "profiles": ["default"],
        # The platform starts instruments after unlocking their volumes (volumes.py).
        "config": {**render_lxd.config(spec), "boot.autostart": "false"},
        "devices": {**render_lxd.nic_devices(spec), "bus": render_lxd.bus_device(),
                    **render_lxd.storage_devices(spec)},
    }


def create_and_start(lxd: Any, spec: InstrumentSpec,
                     before_start: Callable[[Any], None] | None = None) -> None:
    """Create, let ``before_start`` put files in (the bus credential), then start."""
    try:
        container = lxd.containers.create(container_config(spec), wait=True)
        if before_start is not None:
            before_start(container)
        container.start(wait=True)
    except LXDAPIException as exc:
        raise SensorlabError(f"instrument {spec.name}: LXD refused it: {exc}") from exc


def delete(lxd: Any, container_name: str) -> bool:
    """Stop and delete a container; already gone counts as success."""
    try:
        container = lxd.containers.get(container_name)
    except NotFound:
        return False
    if container.status != "Stopped":
        container.stop(force=True, wait=True)
    container.delete(wait=True)
    return True


def state(lxd: Any, container_name: str) -> dict[str, Any]:
    try:
        container = lxd.containers.get(container_name)
    except NotFound:
        return {"status": "absent", "pid": None}
    st = container.state()
    return {"status": st.status, "pid": st.pid}


def sensorlab_containers(lxd: Any) -> list[str]:
    return sorted(
        c.name for c in lxd.containers.all() if "user.sensorlab.instrument" in c.config
    )
