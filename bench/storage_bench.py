"""Cost of encryption: write MiB/s into an encrypted volume vs an unencrypted one.

    flock /tmp/sensorlab-lab.lock .venv/bin/python bench/storage_bench.py --runs 7 --mib 128

Runs on the deployed appliance (`inv deploy`), which holds the measuring code
(sensorlab/platform/storagebench.py): both volumes are made the way the
platform makes them, in the same run, alternating.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sensorlab.harness import lxdhost


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--mib", type=int, default=128)
    args = parser.parse_args()
    proc = lxdhost.exec_in_appliance(
        "env", "PYTHONPATH=/opt/sensorlab", "python3", "-m", "sensorlab.platform.storagebench",
        "--runs", str(args.runs), "--mib", str(args.mib), timeout=900)
    result = json.loads(proc.stdout)
    medians = result["median_mib_per_s"]
    print(json.dumps(result, indent=2, sort_keys=True))
    print(f"write, {args.mib} MiB + fsync, {args.runs} runs: encrypted median "
          f"{medians['encrypted']} MiB/s, unencrypted median {medians['plain']} MiB/s, "
          f"ratio {result['encrypted_over_plain']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
