"""Scapy probes and sniffers, run inside a namespace by ``nsenter``.

    python -m sensorlab.harness.probe sniff --iface IF --uuid U
        prints READY once capturing; on stdin EOF prints {"count": N}
    python -m sensorlab.harness.probe send --iface IF --uuid U --kinds arp,icmp --repeat K
            [--src-ip A --dst-ip B --dst-mac M]
        prints {"sent": {kind: frames}}
    python -m sensorlab.harness.probe arp-ask --iface IF --src-ip A --target B
        prints {"answered": true|false}

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
UNICAST_MAC = "02:00:5e:10:00:01"
LAB_VLAN = 100
# addr-route: what the sender gives itself before sending through the kernel.
ROUTE_SRC = "198.18.0.30/24"
ROUTE_NET = "198.18.9.0/24"
ROUTE_DST = "198.18.9.9"
ROUTE_PORT = 40001


def _frames(kind: str, uuid: bytes, src_mac: str, src_ip: str = LAB_SRC_IP,
            dst_ip: str = LAB_DST_IP, dst_mac: str = UNICAST_MAC) -> list[Any]:
    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.inet import ICMP, IP, UDP
    from scapy.layers.inet6 import (
        ICMPv6MLReport2,
        ICMPv6ND_NS,
        ICMPv6NDOptSrcLLAddr,
        IPv6,
        IPv6ExtHdrHopByHop,
        RouterAlert,
    )
    from scapy.layers.l2 import ARP, Dot1Q, Ether
    from scapy.packet import Raw

    bcast = "ff:ff:ff:ff:ff:ff"
    builders: dict[str, Callable[[], Any]] = {
        # ARP has no payload field; the UUID rides in the frame's trailer.
        "arp": lambda: Ether(src=src_mac, dst=bcast)
        / ARP(op=1, hwsrc=src_mac, psrc=src_ip, pdst=dst_ip) / Raw(uuid),
        "icmp": lambda: Ether(src=src_mac, dst=bcast)
        / IP(src=src_ip, dst=LAB_BCAST) / ICMP() / Raw(uuid),
        "udp-bcast": lambda: Ether(src=src_mac, dst=bcast)
        / IP(src=src_ip, dst="255.255.255.255") / UDP(sport=40000, dport=40000) / Raw(uuid),
        "raw-l2": lambda: Ether(src=SPOOFED_MAC, dst=UNICAST_MAC,
                                type=EXPERIMENTAL_ETHERTYPE) / Raw(uuid),
        "ipv4-unicast": lambda: Ether(src=src_mac, dst=dst_mac)
        / IP(src=src_ip, dst=dst_ip) / UDP(sport=40000, dport=40000) / Raw(uuid),
        # ND and MLD carry the UUID after their options, where receivers see padding.
        "ipv6-nd": lambda: Ether(src=src_mac, dst="33:33:ff:00:00:20")
        / IPv6(src="fe80::10", dst="ff02::1:ff00:20", hlim=255)
        / ICMPv6ND_NS(tgt="fe80::20") / ICMPv6NDOptSrcLLAddr(lladdr=src_mac) / Raw(uuid),
        "mld": lambda: Ether(src=src_mac, dst="33:33:00:00:00:16")
        / IPv6(src="fe80::10", dst="ff02::16", hlim=1)
        / IPv6ExtHdrHopByHop(options=[RouterAlert()]) / ICMPv6MLReport2() / Raw(uuid),
        "dhcp-discover": lambda: Ether(src=src_mac, dst=bcast)
        / IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67)
        / BOOTP(chaddr=bytes.fromhex(src_mac.replace(":", "")), xid=0x5EC0)
        / DHCP(options=[("message-type", "discover"), "end"]) / Raw(uuid),
        "vlan": lambda: Ether(src=src_mac, dst=bcast) / Dot1Q(vlan=LAB_VLAN)
        / IP(src=src_ip, dst=LAB_BCAST) / UDP(sport=40000, dport=40000) / Raw(uuid),
    }
    if kind not in builders:
        raise SystemExit(f"unknown probe kind {kind!r}; choose from {sorted(builders)}")
    return [builders[kind]()]


# Crafted frames (scapy), then addr-route: sent by the kernel after the sender
# gave itself an address and a route, as a compromised instrument would.
CRAFTED = ("arp", "icmp", "udp-bcast", "raw-l2", "ipv4-unicast", "ipv6-nd", "mld",
           "dhcp-discover", "vlan")
KINDS = (*CRAFTED, "addr-route")


def cmd_send(iface: str, uuid: str, kinds: list[str], repeat: int,
             addressing: dict[str, str] | None = None) -> dict[str, Any]:
    from scapy.arch import get_if_hwaddr
    from scapy.sendrecv import sendp

    src_mac = get_if_hwaddr(iface)
    sent: dict[str, int] = {}
    for kind in kinds:
        if kind == "addr-route":
            sent[kind] = send_routed(iface, uuid.encode(), repeat)
            continue
        frames = _frames(kind, uuid.encode(), src_mac, **(addressing or {})) * repeat
        sendp(frames, iface=iface, verbose=False)
        sent[kind] = len(frames)
    return {"sent": sent}


def send_routed(iface: str, uuid: bytes, repeat: int) -> int:
    """Add an address, a route and a neighbour on ``iface``, send UDP, then undo all three.

    The static neighbour makes the kernel send at once instead of waiting on
    ARP (which the enforcement would drop, so the UDP frame would never leave).
    """
    import contextlib
    import socket

    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError

    address, prefix = ROUTE_SRC.split("/")
    net, net_prefix = ROUTE_NET.split("/")
    with IPRoute() as ipr:
        index = ipr.link_lookup(ifname=iface)[0]
        ipr.link("set", index=index, state="up")
        ipr.addr("add", index=index, address=address, prefixlen=int(prefix))
        try:
            ipr.route("add", dst=net, dst_len=int(net_prefix), oif=index)
            ipr.neigh("add", dst=ROUTE_DST, lladdr=UNICAST_MAC, ifindex=index, state=0x80)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                for _ in range(repeat):
                    sock.sendto(uuid, (ROUTE_DST, ROUTE_PORT))
            time.sleep(0.1)  # let the kernel put the last frames on the wire
        finally:
            # Each may be gone already (deleting the address can take the rest along).
            undos: tuple[Callable[[], object], ...] = (
                lambda: ipr.neigh("del", dst=ROUTE_DST, lladdr=UNICAST_MAC, ifindex=index),
                lambda: ipr.route("del", dst=net, dst_len=int(net_prefix), oif=index),
                lambda: ipr.addr("del", index=index, address=address, prefixlen=int(prefix)),
            )
            for undo in undos:
                with contextlib.suppress(NetlinkError):
                    undo()
    return repeat


def cmd_arp_ask(iface: str, src_ip: str, target: str) -> dict[str, Any]:
    """Does anyone answer an ARP request for ``target``? (Three tries, 1 s each.)"""
    from scapy.arch import get_if_hwaddr
    from scapy.layers.l2 import ARP, Ether
    from scapy.sendrecv import srp

    mac = get_if_hwaddr(iface)
    answered, _ = srp(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
                      / ARP(op=1, hwsrc=mac, psrc=src_ip, pdst=target),
                      iface=iface, timeout=1, retry=2, verbose=False)
    return {"answered": len(answered) > 0}


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
    send.add_argument("--src-ip", default=LAB_SRC_IP)
    send.add_argument("--dst-ip", default=LAB_DST_IP)
    send.add_argument("--dst-mac", default=UNICAST_MAC)
    ask = sub.add_parser("arp-ask")
    ask.add_argument("--iface", required=True)
    ask.add_argument("--src-ip", required=True)
    ask.add_argument("--target", required=True)
    sniff = sub.add_parser("sniff")
    sniff.add_argument("--iface", required=True)
    sniff.add_argument("--uuid", required=True)
    args = parser.parse_args(argv)
    if args.command == "send":
        if not 1 <= args.repeat <= 10000:  # floods stay bounded
            raise SystemExit("--repeat must be between 1 and 10000")
        result = cmd_send(args.iface, args.uuid, args.kinds.split(","), args.repeat,
                          {"src_ip": args.src_ip, "dst_ip": args.dst_ip,
                           "dst_mac": args.dst_mac})
    elif args.command == "arp-ask":
        result = cmd_arp_ask(args.iface, args.src_ip, args.target)
    else:
        result = cmd_sniff(args.iface, args.uuid)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
