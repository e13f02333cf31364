"""``python -m sensorlab.planner``: the ``inv plan`` job without Invoke (same messages)."""

from __future__ import annotations

import argparse
import sys

from sensorlab.errors import SensorlabError, report
from sensorlab.planner import plan_command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sensorlab.planner", description=__doc__)
    parser.add_argument("--sensor", help="sensor file (sensor.yaml)")
    parser.add_argument("--manifest", action="append", default=[], help="instrument manifest")
    parser.add_argument("--out", required=True, help="folder to write the plan into")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    try:
        plan_command(args.sensor, args.manifest, args.out)
    except SensorlabError as exc:
        if args.debug:
            raise
        report(exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
