"""``sensorlab-platform``: the platform's command line on the appliance.

    sensorlab-platform ready                 exit 0 once the appliance's LXD is initialised
    sensorlab-platform deploy [SPEC]         apply a deployment (rolls back on failure)
    sensorlab-platform network [SPEC]        re-apply bridges, veths and the ruleset
    sensorlab-platform undeploy [SPEC]       remove everything the deployment made
    sensorlab-platform status [SPEC]         JSON: instrument states and drop counters
    sensorlab-platform tap [SPEC]            record instruments' bus events (the tap service)
    sensorlab-platform events [--last N]     the last N recorded events, JSON lines
    sensorlab-platform handoff [SPEC]        hand files the Downloader fetched to who asked
    sensorlab-platform start|stop|restart|remove|sweep [--instrument N]   see volume_cli.py
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from sensorlab.errors import SensorlabError, report
from sensorlab.names import DEPLOY_SPEC_PATH
from sensorlab.platform import volume_cli
from sensorlab.spec import Deployment


def _load(path: str) -> Deployment:
    spec_path = Path(path)
    if not spec_path.is_file():
        raise SensorlabError(f"deployment spec not found: {spec_path}")
    return Deployment.from_json(spec_path.read_text(), source=str(spec_path))


def _ready() -> None:
    from sensorlab.platform import instances

    lxd = instances.client()
    if not any(pool.name == "default" for pool in lxd.storage_pools.all()):
        raise SensorlabError("the appliance's LXD has no storage pool yet")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sensorlab-platform", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("command", choices=["ready", "deploy", "network", "undeploy", "status",
                                            "tap", "events", "handoff",
                                            *volume_cli.COMMANDS])
    parser.add_argument("spec", nargs="?", default=DEPLOY_SPEC_PATH)
    parser.add_argument("--last", type=int, default=20, help="events: how many")
    parser.add_argument("--instrument", help="start/stop/restart/remove/sweep: just this one")
    args = parser.parse_args(argv)
    # Debian's pylxd 2.2 warns about every field newer LXD servers return.
    warnings.filterwarnings("ignore", category=UserWarning, module="pylxd")
    try:
        if args.command == "ready":
            _ready()
            return 0
        if args.command in ("tap", "events"):
            from sensorlab.platform import tap

            if args.command == "events":
                print("\n".join(tap.last_events(args.last)))
            else:
                tap.run_tap(_load(args.spec))
            return 0
        if args.command == "handoff":
            from sensorlab.platform import handoff

            # Run by a timer from boot on: nothing deployed yet is not an error.
            if Path(args.spec).is_file():
                print("\n".join(handoff.run_once(_load(args.spec))))
            return 0
        if args.command in volume_cli.COMMANDS:
            return volume_cli.run_command(args.command, _load(args.spec), args.instrument)
        # Imported late: `ready` must answer even while pyroute2 users wait.
        from sensorlab.platform import deploy

        deployment = _load(args.spec)
        if args.command == "deploy":
            deploy.deploy(deployment)
        elif args.command == "network":
            deploy.apply_network(deployment)
        elif args.command == "undeploy":
            deploy.undeploy(deployment)
        else:
            print(json.dumps(deploy.status(deployment), indent=2, sort_keys=True))
        return 0
    except SensorlabError as exc:
        if args.debug:
            raise
        report(exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
