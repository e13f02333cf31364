"""Acting as an instrument, as the platform and as the CI host, for the storage proofs.

Canaries travel on stdin, never in a command line: the appliance's logs are
on disk too, and a canary there would be a false plaintext hit.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import subprocess
import tempfile
from pathlib import Path

import pytest

from integration.conftest import unavailable
from sensorlab import names
from sensorlab.harness import lxdhost
from sensorlab.spec import Deployment, InstrumentSpec, StorageSpec

A, B = "store-a", "store-b"


def appliance(*cmd: str, check: bool = True, stdin: str | None = None,
              timeout: float = 300) -> subprocess.CompletedProcess[str]:
    proc: subprocess.CompletedProcess[str] = lxdhost.exec_in_appliance(
        *cmd, check=check, stdin=stdin, timeout=timeout)
    return proc


def inside(spec: InstrumentSpec, script: str, check: bool = True,
           stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``script`` as root inside the instrument (what a compromised one can do)."""
    return appliance("lxc", "exec", spec.container, "--", "sh", "-c", script, check=check,
                     stdin=stdin)


def platform(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return appliance("sensorlab-platform", *args, check=check, timeout=600)


def error_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in proc.stderr.splitlines() if "error:" in line or "warning:" in line]


def pair(deployment: Deployment) -> tuple[InstrumentSpec, InstrumentSpec]:
    try:
        return deployment.instrument(A), deployment.instrument(B)
    except KeyError:
        unavailable(f"the lab sensor must deploy {A} and {B} (sensors/lab.yaml)")


def idmap_base(spec: InstrumentSpec) -> int:
    info = json.loads(appliance("lxc", "query", f"/1.0/instances/{spec.container}").stdout)
    return int(info["config"]["volatile.idmap.base"])


def appliance_rootfs_on_host() -> Path:
    """The appliance's disk as the CI host stores it (LXD `dir` pool, project prefix)."""
    found = glob.glob(f"/var/lib/lxd/storage-pools/*/containers/"
                      f"{names.LXD_PROJECT}_{names.APPLIANCE}/rootfs")
    if not found:
        pytest.fail("the appliance's rootfs is not on a dir pool under /var/lib/lxd")
    return Path(found[0])


def plaintext_hits(canary: str, where: Path) -> list[str]:
    """Files under ``where`` holding ``canary``, read raw from the CI host's disk."""
    with tempfile.NamedTemporaryFile("w", suffix=".pattern") as pattern:
        pattern.write(canary + "\n")
        pattern.flush()
        proc = subprocess.run(["grep", "-rlaF", "-f", pattern.name, str(where)],
                              capture_output=True, text=True, timeout=600)
    return proc.stdout.split()


def scratch(deployment: Deployment, name: str, persistent_image: str = "") -> InstrumentSpec:
    """Another storage-probe instrument with its own volumes (for faults and erasure)."""
    base = deployment.instrument(A)
    return dataclasses.replace(
        base, name=name, container=names.instrument_container(name),
        bus=dataclasses.replace(
            base.bus, user=names.bus_user(name), inbox=base.bus.inbox.replace(A, name),
            publish=tuple(s.replace(A, name) for s in base.bus.publish),
            subscribe=tuple(s.replace(A, name) for s in base.bus.subscribe)),
        storage=StorageSpec(
            persistent_bytes=base.storage.persistent_bytes,
            transient_bytes=base.storage.transient_bytes,
            retention_seconds=base.storage.retention_seconds,
            persistent_image=persistent_image or names.persistent_image(name),
            persistent_mount=names.persistent_mount(name),
            transient_mount=names.transient_mount(name)))


def push_spec(deployment: Deployment, remote: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spec.json"
        path.write_text(deployment.to_json())
        lxdhost.push_to_appliance(path, remote)


def listing(path: str) -> list[str]:
    return appliance("sh", "-c", f"ls -A {path} 2>/dev/null || true").stdout.split()


def running(deployment: Deployment) -> dict[str, str]:
    status = json.loads(platform("status").stdout)["instruments"]
    return {spec.name: status[spec.name]["status"] for spec in deployment.instruments}
