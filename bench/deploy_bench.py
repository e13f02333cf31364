"""Time `inv deploy` (appliance launch + its LXD + the platform's deploy), N runs.

    .venv/bin/python bench/deploy_bench.py --runs 5

Needs built images (`inv build`). Each run replaces the previous appliance,
exactly as the pipeline does. Prints median, min and max wall seconds, plus
the median of the appliance-boot share that `inv deploy` reports.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    walls, boots = [], []
    for run in range(1, args.runs + 1):
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "invoke", "deploy"], cwd=REPO,
                              capture_output=True, text=True)
        wall = time.monotonic() - started
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        match = re.search(r"ready after ([0-9.]+)s", proc.stdout)
        boots.append(float(match.group(1)) if match else float("nan"))
        walls.append(wall)
        print(f"run {run}: {wall:.1f}s", file=sys.stderr)
    print(f"inv deploy wall: median {statistics.median(walls):.1f}s, "
          f"min {min(walls):.1f}s, max {max(walls):.1f}s over {len(walls)} runs; "
          f"appliance LXD ready after median {statistics.median(boots):.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
