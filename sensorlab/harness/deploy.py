"""``inv deploy``: segments, the appliance, and the platform's deploy inside it.

All or nothing: a failure removes the appliance and the segments this run
made, so no half-made container, link or rule stays behind.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sensorlab import log, names
from sensorlab.errors import SensorlabError
from sensorlab.harness import labnet, lxdhost, segments
from sensorlab.spec import Deployment

STEPS = 6


@dataclass(frozen=True)
class DeployResult:
    seconds: float
    appliance_boot_seconds: float


def lab_ports(deployment: Deployment) -> dict[str, str]:
    """Appliance port -> lab segment, for every port the deployment uses. Pure.

    The management port is always there: it is the appliance's own network,
    the one every isolation test checks instruments cannot reach.
    """
    by_port = {names.appliance_port(segment): segment for segment in names.SEGMENTS}
    used = sorted({mirror.port for mirror in deployment.mirrors}
                  | {bridge.port for bridge in deployment.bridges}
                  | {nic.port for spec in deployment.instruments for nic in spec.physical_nics}
                  | {names.appliance_port(names.MANAGEMENT_SEGMENT)})
    unknown = [port for port in used if port not in by_port]
    if unknown:
        raise SensorlabError(
            f"port {unknown[0]} is not a lab segment",
            hint=f"the lab provides: {', '.join(sorted(by_port))}",
        )
    return {port: by_port[port] for port in used}


def _check_images(deployment: Deployment, images_dir: Path) -> Path:
    appliance = images_dir / "appliance.tar"
    wanted = [appliance] + [
        images_dir / names.instrument_image_file(i.image) for i in deployment.instruments
    ]
    missing = [path.name for path in wanted if not path.is_file()]
    if missing:
        raise SensorlabError(f"image {missing[0]} is not built", hint="run `inv build` first")
    return appliance


def deploy(deployment: Deployment, images_dir: Path, state_dir: Path) -> DeployResult:
    started = time.monotonic()
    appliance_image = _check_images(deployment, images_dir)
    ports = lab_ports(deployment)
    made_segments: list[str] = []
    launched = False
    try:
        with log.step("lab segments (network namespaces + veths)", 1, STEPS):
            for segment in sorted(set(ports.values())):
                # A previous run's appliance holds the port: free it first.
                if lxdhost.project_exists() and lxdhost.delete_appliance():
                    log.info("removed the previous appliance")
                if segments.ensure(segment, labnet.lab_host_address(segment)):
                    made_segments.append(segment)
        with log.step("LXD project and appliance image", 2, STEPS):
            lxdhost.ensure_project()
            lxdhost.delete_appliance()
            lxdhost.import_image(appliance_image, names.APPLIANCE_IMAGE_ALIAS)
        with log.step(f"launch appliance {names.APPLIANCE}", 3, STEPS):
            launched = True
            lxdhost.launch_appliance(
                names.APPLIANCE_IMAGE_ALIAS,
                {port: names.segment_host_veth(segment) for port, segment in ports.items()},
            )
        with log.step("wait for the appliance's own LXD", 4, STEPS):
            boot = lxdhost.wait_for_inner_lxd()
            mgmt = names.appliance_port(names.MANAGEMENT_SEGMENT)
            lxdhost.exec_in_appliance("ip", "address", "replace", labnet.APPLIANCE_MGMT,
                                      "dev", mgmt)
            lxdhost.exec_in_appliance("ip", "link", "set", mgmt, "up")
        with log.step("push instrument images and the deployment spec", 5, STEPS):
            for instrument in deployment.instruments:
                image_file = names.instrument_image_file(instrument.image)
                lxdhost.push_to_appliance(images_dir / image_file,
                                          f"{names.INNER_IMAGE_DIR}/{image_file}")
            with tempfile.TemporaryDirectory() as tmp:
                spec_file = Path(tmp) / "deployment.json"
                spec_file.write_text(deployment.to_json())
                lxdhost.push_to_appliance(spec_file, names.DEPLOY_SPEC_PATH)
        with log.step(f"platform deploy of {len(deployment.instruments)} instrument(s)",
                      6, STEPS):
            proc = lxdhost.exec_in_appliance("sensorlab-platform", "deploy", check=False,
                                             timeout=600)
            if proc.returncode != 0:
                raise platform_error("the platform could not deploy", proc.stderr)
    except BaseException:
        log.warn("deploy failed; removing what this run made")
        if launched:
            lxdhost.delete_appliance()
        for segment in made_segments:
            segments.remove(segment)
        raise
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "deployment.json").write_text(deployment.to_json())
    return DeployResult(seconds=time.monotonic() - started, appliance_boot_seconds=boot)


def platform_error(what: str, stderr: str) -> SensorlabError:
    """Lift the platform's own one-line error (and hint) out of its stderr."""
    message, hint = "", None
    for line in stderr.splitlines():
        if line.startswith("sensorlab: error: "):
            message = line.removeprefix("sensorlab: error: ")
        elif line.strip().startswith("hint: "):
            hint = line.strip().removeprefix("hint: ")
    lines = stderr.strip().splitlines()
    return SensorlabError(f"{what}: {message or (lines[-1] if lines else 'no output')}", hint)


def deployed(state_dir: Path) -> Deployment | None:
    path = state_dir / "deployment.json"
    if not path.is_file() or lxdhost.get_appliance() is None:
        return None
    return Deployment.from_json(path.read_text(), source=str(path))


def platform_status() -> dict[str, object]:
    proc = lxdhost.exec_in_appliance("sensorlab-platform", "status")
    status: dict[str, object] = json.loads(proc.stdout)
    return status
