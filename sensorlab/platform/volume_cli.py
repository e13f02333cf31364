"""``sensorlab-platform`` commands for instruments and their volumes.

    start [--instrument N]     unlock volumes, then start (all: the boot service)
    stop --instrument N        stop, wipe transient, lock persistent
    restart --instrument N     stop, then start: transient comes back empty
    remove --instrument N      delete container, volumes and key (crypto-erase)
    sweep [--instrument N]     retention: delete expired files, print JSON of what went
"""

from __future__ import annotations

import json

from sensorlab.errors import SensorlabError
from sensorlab.spec import Deployment, InstrumentSpec

COMMANDS = ("start", "stop", "restart", "remove", "sweep")


def _chosen(deployment: Deployment, instrument: str | None, required: bool,
            command: str) -> list[InstrumentSpec]:
    if instrument is None:
        if required:
            raise SensorlabError(f"{command} needs --instrument NAME",
                                 hint="one of: " + ", ".join(
                                     s.name for s in deployment.instruments))
        return list(deployment.instruments)
    try:
        return [deployment.instrument(instrument)]
    except KeyError:
        raise SensorlabError(f"instrument {instrument} is not in the deployment",
                             hint="one of: " + ", ".join(
                                 s.name for s in deployment.instruments)) from None


def run_command(command: str, deployment: Deployment, instrument: str | None) -> int:
    from sensorlab.platform import deploy, instances, volumes

    if command == "start" and instrument is None:
        failed = volumes.boot(deployment, deploy.apply_network)
        if failed:
            raise SensorlabError(f"instrument(s) {', '.join(failed)} did not start",
                                 hint="the warnings above name each one's volume and cause")
        return 0
    specs = _chosen(deployment, instrument, command != "sweep", command)
    if command == "sweep":
        print(json.dumps({spec.name: volumes.sweep(spec).report() for spec in specs},
                         indent=2, sort_keys=True))
        return 0
    lxd = instances.client()
    for spec in specs:
        if command in ("stop", "restart"):
            volumes.stop(lxd, spec)
        if command in ("start", "restart"):
            volumes.start(lxd, spec)
        if command == "remove":
            volumes.remove(lxd, spec)
    return 0
