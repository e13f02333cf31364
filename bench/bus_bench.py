"""Events per second from one instrument to one subscriber: LXD proxy socket vs direct TCP.

    .venv/bin/python bench/bus_bench.py --events 20000 --runs 5

Needs the lab deployed (`inv deploy`; run it under the lab lock). ``ids``
publishes ``instruments.bus-ids.ev.bench`` and ``pdns`` (which has the
relation) receives, both with their own credentials. "socket": each through
its instrument's unix socket, i.e. the LXD proxy device. "tcp": the same
users straight to 127.0.0.1:4222 in the appliance. Both go through the same
in-process loopback relay (nats-py has no unix transport), so the difference
is the proxy. Runs alternate between the two. Bounded: N events, 60 s a run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nats.aio.msg import Msg  # noqa: E402

from integration.bus_lab import PLATFORM, Party, parties  # noqa: E402
from sensorlab.bus.client import BusClient  # noqa: E402
from sensorlab.bus.relay import Opener, netns_tcp_opener  # noqa: E402
from sensorlab.harness import deploy, paths  # noqa: E402

SUBJECT = "instruments.bus-ids.ev.bench"


async def one_run(pub: Party, sub: Party, pub_open: Opener, sub_open: Opener,
                  events: int, size: int) -> float:
    publisher = await BusClient.connect(pub.credential, pub_open, pending_size=64 << 20)
    subscriber = await BusClient.connect(sub.credential, sub_open)
    done = asyncio.Event()
    count = 0

    async def got(msg: Msg) -> None:
        nonlocal count
        count += 1
        if count == events:
            done.set()

    try:
        await subscriber.subscribe(SUBJECT, got)
        await subscriber.flush()
        blob = b"e" * size
        started = time.monotonic()
        for i in range(events):
            await publisher.publish_event(SUBJECT, blob)
            if i % 500 == 0:
                await asyncio.sleep(0)
        await publisher.flush(timeout=60)
        await asyncio.wait_for(done.wait(), timeout=60)
        return events / (time.monotonic() - started)
    finally:
        await publisher.close()
        await subscriber.close()


async def bench(events: int, runs: int, size: int) -> dict[str, list[float]]:
    current = deploy.deployed(paths.STATE)
    if current is None:
        raise SystemExit("nothing is deployed: run `inv deploy` first")
    lab = parties(current)
    pub, sub = lab["ids"], lab["pdns"]
    appliance_ns = f"{lab[PLATFORM].root.removesuffix('/root')}/ns/net"
    tcp = netns_tcp_opener(appliance_ns, "127.0.0.1", 4222)
    rates: dict[str, list[float]] = {"socket": [], "tcp": []}
    for run in range(runs):
        for mode in ("socket", "tcp"):
            opens = (pub.opener, sub.opener) if mode == "socket" else (tcp, tcp)
            rate = await one_run(pub, sub, *opens, events, size)
            rates[mode].append(rate)
            print(f"run {run + 1} {mode}: {rate:,.0f} events/s", file=sys.stderr)
    return rates


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", type=int, default=128, help="payload bytes")
    args = parser.parse_args()
    rates = asyncio.run(bench(min(args.events, 200000), args.runs, args.size))
    for mode, values in rates.items():
        print(f"{mode}: median {statistics.median(values):,.0f} events/s, "
              f"min {min(values):,.0f}, max {max(values):,.0f} over {len(values)} runs")
    ratio = statistics.median(rates["socket"]) / statistics.median(rates["tcp"])
    print(f"socket/tcp median ratio: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
