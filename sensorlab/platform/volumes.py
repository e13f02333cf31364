"""Instrument lifecycle around its volumes: prepare, start, stop, remove, boot, sweep.

The platform, not LXD, starts instruments (``boot.autostart=false``): a
container must never start before its persistent volume is unlocked and
bound, or it would write into the appliance's own, unencrypted disk.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from sensorlab import log
from sensorlab.errors import SensorlabError
from sensorlab.planner.retention import Entry, SweepPlan, plan_sweep
from sensorlab.platform import active, instances, storage
from sensorlab.spec import Deployment, InstrumentSpec

Push = Callable[[str, Callable[[], object]], None]


def idmap_base(container: Any, spec: InstrumentSpec) -> int:
    """The host uid of the instrument's root: LXD sets it when it creates the container."""
    try:
        return int(container.config["volatile.idmap.base"])
    except (KeyError, ValueError):
        raise SensorlabError(f"instrument {spec.name}: LXD gave it no isolated idmap",
                             hint="security.idmap.isolated must be true") from None


def prepare(spec: InstrumentSpec, container: Any, push: Push | None = None) -> None:
    """Persistent (created, or attached if it exists) and a fresh transient, owned
    by the instrument's idmap root. ``push`` records how to undo it."""
    owner = idmap_base(container, spec)
    if storage.persistent_exists(spec):
        storage.attach_persistent(spec, owner)
        if push:
            push(f"volumes of {spec.name} (detach)", partial(_release, container, spec, False))
    else:
        storage.create_persistent(spec, owner)
        if push:
            push(f"volumes of {spec.name} (erase)", partial(_release, container, spec, True))
    storage.create_transient(spec, owner)


def before_create(spec: InstrumentSpec, push: Push) -> None:
    """The volumes' mount points: LXD checks that disk sources exist at create."""
    storage.ensure_mount_points(spec)
    push(f"mount points of {spec.name}", partial(storage.remove_mount_points, spec))


def prepare_hook(spec: InstrumentSpec, push: Push,
                 then: Callable[[Any], None] | None = None) -> Callable[[Any], None]:
    """A ``before_start`` hook for ``instances.create_and_start``: volumes, then ``then``."""
    def hook(container: Any) -> None:
        prepare(spec, container, push)
        if then is not None:
            then(container)

    return hook


def _release(container: Any, spec: InstrumentSpec, erase: bool) -> None:
    # The undo runs before the container's own undo: stop it first, or its
    # bind mounts would keep the volume busy.
    if container.status != "Stopped":
        container.stop(force=True, wait=True)
    storage.wipe_transient(spec)
    if erase:
        storage.erase(spec)
    else:
        storage.detach_persistent(spec)


def _container(lxd: Any, spec: InstrumentSpec) -> Any:
    try:
        return lxd.containers.get(spec.container)
    except Exception:
        raise SensorlabError(f"instrument {spec.name}: container {spec.container} does not exist",
                             hint="deploy it first: `sensorlab-platform deploy`") from None


def start(lxd: Any, spec: InstrumentSpec) -> None:
    container = _container(lxd, spec)
    if container.status == "Running":
        return
    prepare(spec, container)
    try:
        container.start(wait=True)
    except Exception as exc:
        raise SensorlabError(f"instrument {spec.name}: LXD could not start it: {exc}") from exc
    # Addresses set from outside are lost when the NIC leaves the container at
    # stop (or the appliance reboots): every start sets them again.
    active.configure_addresses(spec, instances.state(lxd, spec.container)["pid"])


def stop(lxd: Any, spec: InstrumentSpec) -> None:
    """Stop, wipe the transient volume, lock and detach the persistent one."""
    container = _container(lxd, spec)
    if container.status != "Stopped":
        container.stop(force=True, wait=True)
    storage.wipe_transient(spec)
    storage.detach_persistent(spec)


def remove(lxd: Any, spec: InstrumentSpec) -> None:
    """Delete the container, the transient volume, the image and its key."""
    instances.delete(lxd, spec.container)
    storage.wipe_transient(spec)
    storage.erase(spec)


def boot(deployment: Deployment, apply_network: Callable[[Deployment], None]) -> list[str]:
    """At appliance boot: guards first, then unlock and start each instrument.

    One instrument's broken volume must not keep the others down: errors are
    reported per instrument and returned.
    """
    apply_network(deployment)
    lxd = instances.client()
    failed = []
    for spec in deployment.instruments:
        try:
            start(lxd, spec)
            log.info(f"started {spec.name}")
        except SensorlabError as exc:
            log.warn(exc.message + (f" (hint: {exc.hint})" if exc.hint else ""))
            failed.append(spec.name)
    return failed


# --- retention ----------------------------------------------------------------------
def _listing(root: str) -> list[Entry]:
    found = []
    # fwalk never follows symlinks: an instrument could plant one pointing at
    # the platform's files, and the sweep runs as the appliance's root.
    for top, _dirs, files, dir_fd in os.fwalk(root, follow_symlinks=False):
        rel = os.path.relpath(top, root)
        for name in files:
            st = os.lstat(name, dir_fd=dir_fd)
            path = name if rel == "." else f"{rel}/{name}"
            found.append(Entry(path=path, mtime=st.st_mtime, size=st.st_size))
    return found


def _unlink_below(root: str, rel: str) -> None:
    """Unlink ``root/rel`` walking each directory with O_NOFOLLOW: a directory
    swapped for a symlink after the listing cannot redirect the delete."""
    parts = rel.split("/")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        for part in parts[:-1]:
            next_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = next_fd
        st = os.lstat(parts[-1], dir_fd=fd)
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(parts[-1], dir_fd=fd)
    finally:
        os.close(fd)


def sweep(spec: InstrumentSpec, now: float | None = None) -> SweepPlan:
    root = spec.storage.persistent_mount
    if not storage.is_mounted(root):
        raise SensorlabError(f"instrument {spec.name}: persistent volume {root} is not attached",
                             hint=f"start it: `sensorlab-platform start --instrument {spec.name}`")
    plan = plan_sweep(spec.name, _listing(root), time.time() if now is None else now,
                      spec.storage.retention_seconds)
    for entry in plan.remove:
        try:
            _unlink_below(root, entry.path)
        except FileNotFoundError:
            pass  # the instrument removed it itself meanwhile
        except OSError as exc:
            log.warn(f"instrument {spec.name}: sweep skipped {entry.path}: {exc.strerror}")
    return plan
