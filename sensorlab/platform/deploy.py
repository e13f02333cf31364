"""Apply a Deployment on the appliance, all or nothing.

Order matters for isolation: links first, then the guard rules on the host
ends, and only then the containers. A failure at any point undoes what this
run created, in reverse order.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from sensorlab import log, nftables
from sensorlab.errors import SensorlabError
from sensorlab.names import INNER_IMAGE_DIR, instrument_image_alias, instrument_image_file
from sensorlab.platform import active, bus, instances, network, storage, volumes
from sensorlab.spec import Deployment


class Undo:
    """A stack of compensating actions, run newest first on failure."""

    def __init__(self) -> None:
        self._actions: list[tuple[str, Callable[[], object]]] = []

    def push(self, what: str, action: Callable[[], object]) -> None:
        self._actions.append((what, action))

    def rollback(self) -> None:
        while self._actions:
            what, action = self._actions.pop()
            try:
                action()
                log.info(f"rolled back: {what}")
            except Exception as exc:  # keep undoing the rest whatever happens
                log.warn(f"rollback of {what} failed: {exc}")


def apply_network(deployment: Deployment, undo: Undo | None = None) -> None:
    """Bridges, veths and the whole ruleset. Idempotent."""
    for bridge in deployment.mirror_bridges:
        if network.ensure_bridge(bridge) and undo:
            undo.push(f"bridge {bridge}", partial(network.delete_link, bridge))
    for mirror in deployment.mirrors:
        network.set_up(mirror.port)
    for spec in deployment.instruments:
        for nic in spec.nics:
            if network.ensure_veth(nic.host_veth, nic.peer_veth, nic.mac, nic.bridge) and undo:
                undo.push(f"veth {nic.host_veth}", partial(network.delete_link, nic.host_veth))
    active.apply_links(deployment, undo.push if undo else None)
    previous = network.current_ruleset()
    network.load_ruleset(nftables.render_ruleset(deployment))
    if undo:
        undo.push("nftables table", partial(network.restore_ruleset, previous))


def deploy(deployment: Deployment, image_dir: Path = Path(INNER_IMAGE_DIR)) -> None:
    lxd = instances.client()
    undo = Undo()
    total = len(deployment.instruments) + 2
    try:
        with log.step("network: mirror bridges, veths, guard rules", 1, total):
            apply_network(deployment, undo)
        with log.step("bus: nats.conf, one credential per instrument, server reload", 2, total):
            running = frozenset(
                spec.bus.user for spec in deployment.instruments
                if instances.state(lxd, spec.container)["status"] == "Running")
            credentials = bus.configure(deployment, running, undo.push)
        for index, spec in enumerate(deployment.instruments, start=3):
            with log.step(f"instrument {spec.name} ({spec.network})", index, total):
                tarball = image_dir / instrument_image_file(spec.image)
                if not tarball.is_file():
                    raise SensorlabError(
                        f"instrument {spec.name}: image {tarball} is missing on the appliance",
                        hint="run `inv build` and deploy again",
                    )
                if instances.state(lxd, spec.container)["status"] == "Running":
                    # Redeploying must not disturb a running instrument;
                    # upgrading one in place is not supported yet.
                    log.info(f"{spec.container} is already running; left as it is")
                    continue
                instances.import_image(lxd, tarball, instrument_image_alias(spec.image))
                instances.delete(lxd, spec.container)  # a stopped leftover
                undo.push(f"container {spec.container}",
                          partial(instances.delete, lxd, spec.container))
                if spec.name not in credentials:
                    raise SensorlabError(f"instrument {spec.name}: no bus credential was made")
                volumes.before_create(spec, undo.push)
                instances.create_and_start(lxd, spec, volumes.prepare_hook(
                    spec, undo.push, partial(bus.deliver, credential=credentials[spec.name])))
                active.configure_addresses(spec, instances.state(lxd, spec.container)["pid"])
    except BaseException:
        log.warn("deploy failed; rolling back what this run created")
        undo.rollback()
        raise


def undeploy(deployment: Deployment) -> None:
    lxd = instances.client()
    for spec in deployment.instruments:
        instances.delete(lxd, spec.container)
        storage.wipe_transient(spec)
        storage.erase(spec)  # removing an instrument destroys its key: crypto-erase
    network.delete_ruleset()
    active.remove_links(deployment)
    for spec in deployment.instruments:
        for nic in spec.nics:
            network.delete_link(nic.host_veth)
    for bridge in deployment.mirror_bridges:
        network.delete_link(bridge)


def status(deployment: Deployment) -> dict[str, Any]:
    lxd = instances.client()
    return {
        "instruments": {
            spec.name: instances.state(lxd, spec.container) for spec in deployment.instruments
        },
        "counters": network.counters(),
    }

