"""Write throughput into an encrypted volume against an unencrypted one, same run.

Runs on the appliance (``bench/storage_bench.py`` drives it): two ext4
images of the same size on loop devices, the same mkfs options, one with an
fscrypt v2 directory; runs alternate between them so drift hits both alike.
Each run writes ``mib`` MiB of random bytes and fsyncs, so the figure
includes encryption at writeback.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

from sensorlab.platform import fscrypt, storage
from sensorlab.run import run

_BLOCK = 1 << 20


def _volume(root: str, name: str, size: int, encrypt: bool) -> str:
    image = f"{root}/{name}.img"
    mount = f"{root}/{name}"
    with open(image, "wb") as handle:
        os.posix_fallocate(handle.fileno(), 0, size)
    run(["mkfs.ext4", "-q", "-F", "-m", "0", "-O", "encrypt", image])
    os.mkdir(mount)
    storage.ensure_loop_nodes()
    run(["mount", "-o", "loop", image, mount])
    os.mkdir(f"{mount}/data")
    if encrypt:
        fscrypt.set_policy(f"{mount}/data", fscrypt.add_key(mount, os.urandom(32)))
    return f"{mount}/data"


def _write(directory: str, mib: int, payload: bytes) -> float:
    path = f"{directory}/bench"
    started = time.monotonic()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(mib):
            os.write(fd, payload)
        os.fsync(fd)
    finally:
        os.close(fd)
    seconds = time.monotonic() - started
    os.unlink(path)
    return mib / seconds


def measure(runs: int, mib: int) -> dict[str, object]:
    payload = os.urandom(_BLOCK)
    results: dict[str, list[float]] = {"encrypted": [], "plain": []}
    with tempfile.TemporaryDirectory(dir="/var/lib/sensorlab", prefix="bench-") as root:
        dirs = {kind: _volume(root, kind, (mib + 64) << 20, kind == "encrypted")
                for kind in results}
        try:
            for _ in range(runs):
                for kind, directory in dirs.items():
                    results[kind].append(_write(directory, mib, payload))
        finally:
            for kind in results:
                run(["umount", f"{root}/{kind}"], check=False)
    medians = {kind: statistics.median(values) for kind, values in results.items()}
    return {"runs": runs, "mib_per_run": mib,
            "mib_per_s": {k: [round(v, 1) for v in vals] for k, vals in results.items()},
            "median_mib_per_s": {k: round(v, 1) for k, v in medians.items()},
            "encrypted_over_plain": round(medians["encrypted"] / medians["plain"], 3)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--mib", type=int, default=128)
    args = parser.parse_args()
    print(json.dumps(measure(args.runs, args.mib), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
