"""Scapy probes and sniffers, run inside a namespace by ``nsenter``.

    python -m sensorlab.harness.probe sniff --iface IF --uuid U
        prints READY once capturing; on stdin EOF prints {"count": N}
    python -m sensorlab.harness.probe send --iface IF --uuid U --kinds arp,icmp --repeat K
        prints {"sent": {kind: frames}}

Every frame carries the UUID in its payload, so a sniffer counts exactly the
frames of one test and nothing else on the segment. Addresses come from
198.18.0.0/15 (RFC 2544, benchmarking only); nothing here routes anywhere.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

LAB_SRC_IP = "198.18.0.10"
LAB_DST_IP = "198.18.0.20"
LAB_BCAST = "198.18.0.255"
# Locally administered, so it can never be a real vendor's MAC.
SPOOFED_MAC = "02:00:5e:10:00:99"
# IEEE 802 "local experimental" EtherType.
EXPERIMENTAL_ETHERTYPE = 0x88B5


def _frames(kind: str, uuid: bytes, src_mac: str) -> list[Any]:
    from scapy.layers.inet import ICMP, IP, UDP
    from scapy.layers.l2 import ARP, Ether
    from scapy.packet import Raw

    bcast = "ff:ff:ff:ff:ff:ff"
    builders: dict[str, Callable[[], Any]] = {
        # ARP has no payload field; the UUID rides in the frame's trailer.
        "arp": lambda: Ether(src=src_mac, dst=bcast)
        / ARP(op=1, hwsrc=src_mac, psrc=LAB_SRC_IP, pdst=LAB_DST_IP) / Raw(uuid),
        "icmp": lambda: Ether(src=src_mac, dst=bcast)
        / IP(src=LAB_SRC_IP, dst=LAB_BCAST) / ICMP() / Raw(uuid),
        "udp-bcast": lambda: Ether(src=src_mac, dst=bcast)
        / IP(src=LAB_SRC_IP, dst="255.255.255.255") / UDP(sport=40000, dport=40000) / Raw(uuid),
        "raw-l2": lambda: Ether(src=SPOOFED_MAC, dst="02:00:5e:10:00:01",
                                type=EXPERIMENTAL_ETHERTYPE) / Raw(uuid),
    }
    if kind not in builders:
        raise SystemExit(f"unknown probe kind {kind!r}; choose from {sorted(builders)}")
    return [builders[kind]()]


KINDS = ("arp", "icmp", "udp-bcast", "raw-l2")


def cmd_send(iface: str, uuid: str, kinds: list[str], repeat: int) -> dict[str, Any]:
    from scapy.arch import get_if_hwaddr
    from scapy.sendrecv import sendp

    src_mac = get_if_hwaddr(iface)
    sent: dict[str, int] = {}
    for kind in kinds:
        frames = _frames(kind, uuid.encode(), src_mac) * repeat
        sendp(frames, iface=iface, verbose=False)
        sent[kind] = len(frames)
    return {"sent": sent}


def cmd_sniff(iface: str, uuid: str) -> dict[str, Any]:
    from scapy.sendrecv import AsyncSniffer

    marker = uuid.encode()
    count = 0

    def match(packet: Any) -> None:
        nonlocal count
        if marker in bytes(packet):
            count += 1

    sniffer = AsyncSniffer(iface=iface, prn=match, store=False, promisc=True)
    sniffer.start()
    while not getattr(sniffer, "running", False):
        time.sleep(0.01)
    # The socket is open once `running` is set; give the kernel a moment to
    # attach it before the controller starts sending.
    time.sleep(0.2)
    print("READY", flush=True)
    sys.stdin.read()
    time.sleep(0.5)  # frames still in flight when the controller said stop
    sniffer.stop()
    return {"count": count}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="probe")
    sub = parser.add_subparsers(dest="command", required=True)
    send = sub.add_parser("send")
    send.add_argument("--iface", required=True)
    send.add_argument("--uuid", required=True)
    send.add_argument("--kinds", default=",".join(KINDS))
    send.add_argument("--repeat", type=int, default=1)
    sniff = sub.add_parser("sniff")
    sniff.add_argument("--iface", required=True)
    sniff.add_argument("--uuid", required=True)
    args = parser.parse_args(argv)
    if args.command == "send":
        if not 1 <= args.repeat <= 10000:  # floods stay bounded
            raise SystemExit("--repeat must be between 1 and 10000")
        result = cmd_send(args.iface, args.uuid, args.kinds.split(","), args.repeat)
    else:
        result = cmd_sniff(args.iface, args.uuid)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
