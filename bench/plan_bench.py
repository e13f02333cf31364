"""Benchmark: plan a sensor of 100 instruments (load, validate, render every file).

    .venv/bin/python bench/plan_bench.py [--instruments 100] [--runs 15]

Prints median/min/max wall time over the runs. The figure is recorded in
docs/benchmarks.md ("## Planning"); the target is under 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sensorlab.planner import plan_sensor


def _manifest(index: int, count: int) -> dict[str, object]:
    """Every third passive, every third active on a bridge, the rest with no network."""
    kind = index % 3
    access = ["passive", "active", "None"][kind]
    interfaces = [
        [{"type": "mirror-bridge", "capabilities": ["rx"]}],
        [{"type": "bridge", "capabilities": ["rx", "tx"]}],
        [],
    ][kind]
    return {
        "name": f"Instrument {index}",
        "network_access_type": access,
        "required_interfaces": interfaces,
        "has_ui": index % 2 == 0,
        "produced_event_types": [
            {"match": f"instruments.t{index}.ev.", "type": "prefix"},
            {"match": f"instruments.t{index}.stats", "type": "exact"},
        ],
        "relations": [
            {"instrument_type": f"t{(index + step) % count}", "required": step == 1,
             "permissions": ["find", "direct_message"][: step]}
            for step in (1, 2, 3)
        ],
        "sensorlab": {"storage": {"persistent": "2GiB", "retention": "14d"}},
    }


def write_sensor(folder: Path, count: int) -> Path:
    for index in range(count):
        text = yaml.safe_dump(_manifest(index, count), sort_keys=False)
        (folder / f"t{index}.yaml").write_text(text)
    sensor = {
        "sensor": f"bench{count}",
        "manifests": ["."],
        "ports": {"monitored": ["mon0", "mon1"], "upstream": "up0"},
        "bridges": {"prot": {"port": "prot0"}},
        "instruments": {f"i{index}": {"type": f"t{index}", "settings": {"n": index}}
                        for index in range(count)},
    }
    path = folder / "sensor.yaml"
    path.write_text(yaml.safe_dump(sensor, sort_keys=False))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instruments", type=int, default=100)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_sensor(Path(tmp), args.instruments)
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            files = plan_sensor(path).files()
            times.append(time.perf_counter() - started)
    print(f"plan of {args.instruments} instruments ({len(files)} files), {args.runs} runs: "
          f"median {statistics.median(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
