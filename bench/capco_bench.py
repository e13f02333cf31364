"""Capco benchmark: frames per second delivered to 1 and 4 passive instruments by
the platform's nft ``dup``/``fwd`` rules, against a plain veth pair, same machine,
same run.

    .venv/bin/python bench/capco_bench.py [--frames 200000] [--runs 5] [--seconds 10] [--rps]

Everything lives in scratch network namespaces (``sl-bench-src``, ``sl-bench-app``)
removed at the end: a sender namespace and an "appliance" namespace holding
the monitored port, the mirror bridges, the instruments' guarded veths and
the ruleset rendered by ``sensorlab.nftables`` from a Deployment, exactly as
the platform loads it. Instrument ends stay in that namespace: the cost of
delivery is the veth hop, which is the same whichever namespace the peer is in.

The sender is a raw AF_PACKET socket loop (scapy is far too slow), bounded in
frames and seconds. Delivered rate = frames counted on the slowest receiver
(rx_packets of the instrument-side veth) / the sender's wall time. By default
delivery completes in the sender's own softirq, on its CPU, so that time
includes Capco's work. With ``--rps`` the sender keeps CPU 0 and all receive
processing (Capco included) runs on CPU 1, as when a NIC feeds the appliance:
a receiver that falls behind then shows as loss. Loss = frames sent - frames
received, on the slowest receiver. Each CPU's busy share is reported too.
"""

from __future__ import annotations

import argparse
import errno
import json
import socket
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyroute2 import NetNS, netns

from sensorlab import names, nftables
from sensorlab.run import run
from sensorlab.spec import (
    Deployment,
    InstrumentSpec,
    MirrorNic,
    MirrorSpec,
    NetworkMode,
)

SRC_NS, APP_NS = "sl-bench-src", "sl-bench-app"
PLAIN_TX, PLAIN_RX = "bplain-tx", "bplain-rx"
CAPCO_TX, PORT = "bcapco-tx", "bmon0"
MAX_FRAMES, MAX_SECONDS = 1_000_000, 30
SETTLE_SECONDS = 3
# 60-byte frame: locally administered MACs, IEEE local experimental EtherType.
FRAME = (bytes.fromhex("020000be0001" "020000be0002" "88b5") + b"capco-bench").ljust(60, b"\0")


def deployment(receivers: int) -> Deployment:
    specs = []
    for index in range(receivers):
        name = f"bench{index}"
        specs.append(InstrumentSpec(
            name=name, type="passive-probe", container=names.instrument_container(name),
            image="passive-probe", network=NetworkMode.PASSIVE,
            nics=(MirrorNic(name="eth0", bridge=names.mirror_bridge(index),
                            host_veth=names.instrument_host_veth(name, "eth0"),
                            peer_veth=names.instrument_peer_veth(name, "eth0"),
                            mac=names.instrument_mac(name, "eth0"),
                            guard_chain=names.guard_chain(name, "eth0")),)))
    bridges = tuple(names.mirror_bridge(i) for i in range(receivers))
    return Deployment(instruments=tuple(specs), mirror_bridges=bridges,
                      mirrors=(MirrorSpec(port=PORT, bridges=bridges,
                                          chain=names.capco_chain(PORT)),))


def setup(max_receivers: int) -> None:
    teardown()
    for ns in (SRC_NS, APP_NS):
        netns.create(ns)
        # No IPv6 autoconf or MLD chatter: every counted frame is a sent frame.
        run(["nsenter", f"--net=/run/netns/{ns}", "--", "sysctl", "-q", "-w",
             "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
    with NetNS(SRC_NS) as src:
        src.link("add", ifname=PLAIN_TX, kind="veth",
                 peer={"ifname": PLAIN_RX, "net_ns_fd": APP_NS})
        src.link("add", ifname=CAPCO_TX, kind="veth", peer={"ifname": PORT, "net_ns_fd": APP_NS})
        for link in ("lo", PLAIN_TX, CAPCO_TX):
            src.link("set", index=src.link_lookup(ifname=link)[0], state="up")
    with NetNS(APP_NS) as app:
        for link in ("lo", PLAIN_RX, PORT):
            app.link("set", index=app.link_lookup(ifname=link)[0], state="up")
        for spec in deployment(max_receivers).instruments:
            nic = spec.nics[0]
            app.link("add", ifname=nic.bridge, kind="bridge")
            app.link("add", ifname=nic.host_veth, kind="veth", peer={"ifname": nic.peer_veth})
            bridge = app.link_lookup(ifname=nic.bridge)[0]
            for link in (nic.bridge, nic.peer_veth):
                app.link("set", index=app.link_lookup(ifname=link)[0], state="up")
            app.link("set", index=app.link_lookup(ifname=nic.host_veth)[0], master=bridge,
                     state="up")
    # Fresh links chatter for a moment (an IGMP report flooded by the new
    # bridges was once counted as a received frame): let it pass first.
    time.sleep(SETTLE_SECONDS)


def spread(links: list[str], cpus: str) -> None:
    """RPS: hand receive processing of ``links`` to ``cpus`` (hex mask), as a
    multi-queue NIC's RSS would; the sender keeps CPU 0 to itself."""
    script = "; ".join(f"echo {cpus} > /sys/class/net/{link}/queues/rx-0/rps_cpus"
                       for link in links)
    # `ip netns exec` remounts /sys for the namespace; nsenter alone would not.
    run(["ip", "netns", "exec", APP_NS, "sh", "-c", script])


def teardown() -> None:
    for ns in (SRC_NS, APP_NS):
        if ns in netns.listnetns():
            netns.remove(ns)


def load(receivers: int) -> None:
    text = nftables.render_ruleset(deployment(receivers))
    run(["nsenter", f"--net=/run/netns/{APP_NS}", "--", "nft", "-f", "-"], input=text)


def rx_packets(links: list[str]) -> dict[str, int]:
    with NetNS(APP_NS) as app:
        found = {}
        for link in links:
            stats = app.get_links(app.link_lookup(ifname=link)[0])[0].get_attr("IFLA_STATS64")
            found[link] = int(stats["rx_packets"])
    return found


def send_child(iface: str, frames: int, seconds: float) -> None:
    """In the sender namespace: a tight send loop, bounded in frames and seconds."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((iface, 0))
    send, sent, refused, deadline = sock.send, 0, 0, time.monotonic() + seconds
    started = time.perf_counter()
    while sent < frames:
        for _ in range(1000):
            try:
                send(FRAME)
            except OSError as exc:  # ENOBUFS: the receiving CPU's backlog is full
                if exc.errno != errno.ENOBUFS:
                    raise
                refused += 1  # that frame was not taken; the next try resends it
                continue
            sent += 1
        if time.monotonic() > deadline:
            break
    print(json.dumps({"sent": sent, "refused": refused,
                      "seconds": time.perf_counter() - started}))


def cpu_times() -> dict[str, tuple[int, int]]:
    """(busy, total) jiffies per CPU, from /proc/stat."""
    found = {}
    for line in Path("/proc/stat").read_text().splitlines():
        fields = line.split()
        if fields[0].startswith("cpu") and fields[0] != "cpu":
            values = [int(v) for v in fields[1:]]
            idle = values[3] + values[4]  # idle + iowait
            found[fields[0]] = (sum(values) - idle, sum(values))
    return found


def busy_share(before: dict[str, tuple[int, int]],
               after: dict[str, tuple[int, int]]) -> dict[str, float]:
    return {cpu: (after[cpu][0] - before[cpu][0]) / max(1, after[cpu][1] - before[cpu][1])
            for cpu in before}


def measure(tx: str, rx: list[str], frames: int, seconds: float,
            pin: bool = False) -> dict[str, float]:
    before = rx_packets(rx)
    cpus = cpu_times()
    taskset = ["taskset", "-c", "0"] if pin else []
    proc = run([*taskset, "nsenter", f"--net=/run/netns/{SRC_NS}", "--", sys.executable, __file__,
                "--child", tx, "--frames", str(frames), "--seconds", str(seconds)],
               timeout=seconds + 30)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    # How busy each CPU was; with --rps CPU 0 sends and CPU 1 does all the
    # receiving, so CPU 1's share is Capco's cost at that rate.
    busy = busy_share(cpus, cpu_times())
    time.sleep(0.2)  # anything still queued
    after = rx_packets(rx)
    received = min(after[link] - before[link] for link in rx)
    return {"sent": result["sent"], "received": received, "refused": result["refused"],
            "loss": result["sent"] - received, "fps": received / result["seconds"],
            "cpu0_busy": busy.get("cpu0", 0.0), "cpu1_busy": busy.get("cpu1", 0.0)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rps", action="store_true",
                        help="sender pinned to CPU 0, receive processing on CPU 1 (both cases)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not (1000 <= args.frames <= MAX_FRAMES and 0 < args.seconds <= MAX_SECONDS):
        raise SystemExit(f"--frames 1000..{MAX_FRAMES}, --seconds up to {MAX_SECONDS}")
    if args.child:
        send_child(args.child, args.frames, args.seconds)
        return 0
    receivers = {1: [names.instrument_peer_veth("bench0", "eth0")],
                 4: [names.instrument_peer_veth(f"bench{i}", "eth0") for i in range(4)]}
    results: dict[str, list[dict[str, float]]] = {"plain": [], "capco-1": [], "capco-4": []}
    setup(4)
    try:
        if args.rps:
            spread([PLAIN_RX, PORT], "2")
        for _ in range(args.runs):  # interleaved, so drift hits every case alike
            results["plain"].append(measure(PLAIN_TX, [PLAIN_RX], args.frames, args.seconds,
                                            args.rps))
            for count in (1, 4):
                load(count)
                results[f"capco-{count}"].append(
                    measure(CAPCO_TX, receivers[count], args.frames, args.seconds, args.rps))
    finally:
        teardown()
    plain = statistics.median(r["fps"] for r in results["plain"])
    print("case      median fps   ratio  runs (fps)                               loss  refused"
          "  cpu0 cpu1")
    for case, rows in results.items():
        fps = statistics.median(r["fps"] for r in rows)
        runs = " ".join(f"{r['fps'] / 1000:.0f}k" for r in rows)
        loss = sum(int(r["loss"]) for r in rows)
        refused = sum(int(r["refused"]) for r in rows)  # ENOBUFS: the kernel pushed back
        cpu0, cpu1 = (statistics.median(r[f"cpu{n}_busy"] for r in rows) for n in (0, 1))
        print(f"{case:9} {fps:10.0f}   {fps / plain:5.2f}  {runs:40} {loss:<5} {refused:<7}  "
              f"{cpu0:4.0%} {cpu1:4.0%}")
    print(json.dumps({case: rows for case, rows in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
