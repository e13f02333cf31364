"""The CI VM's LXD: the sensorlab project, the appliance image and container.

Object lifecycle goes through pylxd; ``exec`` and file transfer go through the
``lxc`` client, which streams output and handles large files well.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

import pylxd
from pylxd.exceptions import ClientConnectionFailed, LXDAPIException, NotFound

from sensorlab import log, names
from sensorlab.errors import SensorlabError
from sensorlab.images.buildinfo import sha256_file
from sensorlab.run import run

PROJECT_CONFIG = {
    "features.images": "true",
    "features.profiles": "true",
    "features.storage.volumes": "true",
}
LXD_HINT = "start LXD with ci/bootstrap (or `systemctl start lxd`), then retry"


def client(project: str | None = names.LXD_PROJECT) -> Any:
    try:
        lxd = pylxd.Client(project=project) if project else pylxd.Client()
        lxd.host_info  # noqa: B018 - forces a round trip, so a dead socket fails here
        return lxd
    except (ClientConnectionFailed, OSError) as exc:
        socket = Path(os.environ.get("LXD_DIR", "/var/lib/lxd")) / "unix.socket"
        raise SensorlabError(f"LXD is not reachable at {socket}", hint=LXD_HINT) from exc


def project_exists() -> bool:
    return bool(client(None).projects.exists(names.LXD_PROJECT))


def ensure_project() -> bool:
    """Create the project with its own images and profiles. True if created."""
    lxd = client(None)
    if lxd.projects.exists(names.LXD_PROJECT):
        return False
    lxd.projects.create(names.LXD_PROJECT, description="sensorlab appliances",
                        config=PROJECT_CONFIG)
    profile = client().profiles.get("default")
    profile.devices = {"root": {"type": "disk", "path": "/", "pool": "default"}}
    profile.save()
    return True


def import_image(tarball: Path, alias: str) -> str:
    """Import unless the same fingerprint is present; point ``alias`` at it."""
    # A unified tarball's LXD fingerprint is its sha256.
    fingerprint = sha256_file(tarball)
    lxd = client()
    if not lxd.images.exists(fingerprint):
        # `lxc image import` streams from disk; pylxd would read 500 MB into memory.
        run(["lxc", "image", "import", "--project", names.LXD_PROJECT, tarball],
            timeout=600)
    with contextlib.suppress(NotFound):
        lxd.images.get_by_alias(alias).delete_alias(alias)
    lxd.images.get(fingerprint).add_alias(alias, "sensorlab")
    return fingerprint


# Encrypted volumes are ext4 images on loop devices. The container's /dev is
# LXD's tmpfs, so the platform makes /dev/loopN nodes itself (mknod) for the
# free indexes the kernel hands out: the cgroup (v1 here) must allow block
# major 7 and the loop-control char device.
LOOP_DEVICES = {"loop-control": {"type": "unix-char", "source": "/dev/loop-control",
                                 "path": "/dev/loop-control"}}
LOOP_RAW_LXC = "lxc.cgroup.devices.allow = b 7:* rwm\nlxc.cgroup.devices.allow = c 10:237 rwm\n"


def appliance_config(image_alias: str, ports: dict[str, str]) -> dict[str, Any]:
    """The appliance container. Pure: tested with data alone.

    Privileged because the appliance is the Sensor's own OS (on a real Sensor
    it is the machine): it needs loop devices for encrypted volumes and full
    uid ranges for the isolated idmaps of the Instruments it runs.
    """
    devices: dict[str, dict[str, str]] = {
        port: {"type": "nic", "nictype": "physical", "parent": host_link, "name": port}
        for port, host_link in sorted(ports.items())
    }
    devices.update(LOOP_DEVICES)
    return {
        "name": names.APPLIANCE,
        "source": {"type": "image", "alias": image_alias},
        "profiles": ["default"],
        "config": {
            "security.privileged": "true",
            "security.nesting": "true",
            "user.sensorlab.role": "appliance",
            "raw.lxc": LOOP_RAW_LXC,
        },
        "devices": devices,
    }


def get_appliance() -> Any | None:
    try:
        return client().instances.get(names.APPLIANCE)
    except NotFound:
        return None


def delete_appliance() -> bool:
    instance = get_appliance()
    if instance is None:
        return False
    if instance.status != "Stopped":
        instance.stop(force=True, wait=True)
    instance.delete(wait=True)
    return True


def launch_appliance(image_alias: str, ports: dict[str, str]) -> None:
    try:
        instance = client().instances.create(appliance_config(image_alias, ports), wait=True)
        instance.start(wait=True)
    except LXDAPIException as exc:
        hint = None
        if "nesting" in str(exc).lower() or "privileged" in str(exc).lower():
            hint = "this LXD refuses nesting or privileged containers; see `inv doctor`"
        raise SensorlabError(f"LXD refused the appliance: {exc}", hint=hint) from exc


def appliance_pid() -> int:
    instance = get_appliance()
    if instance is None or instance.status != "Running":
        raise SensorlabError("the appliance is not running", hint="run `inv deploy`")
    return int(instance.state().pid)


# LXD 5.0 sometimes loses the race to read an exec'd child's pid under load
# and fails the exec (seen in CI). Such an exec is retried; callers only run
# commands that are safe to run twice.
_EXEC_RACE = "Failed to retrieve PID of executing child process"


def exec_in_appliance(*cmd: str, check: bool = True, timeout: float = 300,
                      capture: bool = True, stdin: str | None = None) -> Any:
    return run(["lxc", "exec", "--project", names.LXD_PROJECT, names.APPLIANCE, "--", *cmd],
               check=check, timeout=timeout, capture=capture, input=stdin,
               retry_if=_EXEC_RACE)


def push_to_appliance(local: Path, remote: str) -> None:
    run(["lxc", "file", "push", "--project", names.LXD_PROJECT, "--create-dirs",
         local, f"{names.APPLIANCE}{remote}"], timeout=300)


def wait_for_inner_lxd(timeout: float = 240) -> float:
    """Poll until the appliance's LXD is initialised; returns seconds waited."""
    started = time.monotonic()
    last_report = started
    while True:
        proc = exec_in_appliance("sensorlab-platform", "ready", check=False, timeout=60)
        if proc.returncode == 0:
            return time.monotonic() - started
        now = time.monotonic()
        if now - started > timeout:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise SensorlabError(
                f"the appliance's LXD was not ready after {timeout:.0f}s"
                + (f": {detail[-1]}" if detail else ""),
                hint="inspect with `lxc exec --project sensorlab sl-appliance -- "
                "journalctl -u lxd -u sensorlab-lxd-init`",
            )
        if now - last_report > 15:
            log.info(f"waiting for the appliance's LXD ({now - started:.0f}s)")
            last_report = now
        time.sleep(1)


def delete_project() -> bool:
    """Delete everything in the project, then the project. Already gone is fine."""
    if not project_exists():
        return False
    lxd = client()
    for instance in lxd.instances.all():
        if instance.status != "Stopped":
            instance.stop(force=True, wait=True)
        instance.delete(wait=True)
    for image in lxd.images.all():
        image.delete(wait=True)
    client(None).projects.get(names.LXD_PROJECT).delete()
    return True
