"""Lab segments: network namespaces and veth pairs the harness creates.

Each segment is a namespace holding the lab host's end of a veth pair; the
other end becomes a port of the appliance. Nothing is addressed or routed:
test traffic is crafted at layer 2 and never leaves these links.
"""

from __future__ import annotations

import errno

from pyroute2 import IPRoute, NetNS, netns
from pyroute2.netlink.exceptions import NetlinkError

from sensorlab import names


def ensure(segment: str, address: str = "") -> bool:
    """Create the segment if needed; True if anything was created.

    ``address`` (CIDR) goes on the lab host's end: on-link only, no routes.
    """
    ns = names.segment_netns(segment)
    lab, host = names.segment_lab_veth(segment), names.segment_host_veth(segment)
    created = False
    if ns not in netns.listnetns():
        netns.create(ns)
        created = True
    with NetNS(ns) as nsr:
        present = bool(nsr.link_lookup(ifname=lab))
    if not present:
        with IPRoute() as ipr:
            stale = ipr.link_lookup(ifname=host)
            if stale:
                ipr.link("del", index=stale[0])
            ipr.link("add", ifname=host, kind="veth", peer={"ifname": lab, "net_ns_fd": ns})
            ipr.link("set", index=ipr.link_lookup(ifname=host)[0], state="up")
        created = True
    with NetNS(ns) as nsr:
        for link in ("lo", lab):
            nsr.link("set", index=nsr.link_lookup(ifname=link)[0], state="up")
        if address:
            ip, prefix = address.split("/")
            index = nsr.link_lookup(ifname=lab)[0]
            if not any(a.get_attr("IFA_ADDRESS") == ip for a in nsr.get_addr(index=index)):
                nsr.addr("add", index=index, address=ip, prefixlen=int(prefix))
    return created


def remove(segment: str) -> None:
    """Delete the namespace (its veth end goes with it, and so does the peer)."""
    ns = names.segment_netns(segment)
    if ns in netns.listnetns():
        netns.remove(ns)
    delete_link(names.segment_host_veth(segment))


def delete_link(name: str) -> None:
    """Delete a host link; one that vanished meanwhile (its peer's namespace went) is fine."""
    with IPRoute() as ipr:
        for index in ipr.link_lookup(ifname=name):
            try:
                ipr.link("del", index=index)
            except NetlinkError as exc:
                if exc.code != errno.ENODEV:
                    raise


def existing() -> list[str]:
    """sensorlab namespaces present on this host."""
    return sorted(ns for ns in netns.listnetns() if ns.startswith(f"{names.PREFIX}-"))


def leftover_links() -> list[str]:
    """sensorlab links left in the host namespace."""
    with IPRoute() as ipr:
        found = [link.get_attr("IFLA_IFNAME") for link in ipr.get_links()]
    return sorted(n for n in found if n and n.startswith(names.PREFIX))
