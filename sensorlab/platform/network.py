"""Links and nftables on the appliance. Imperative: pyroute2 and ``nft``."""

from __future__ import annotations

from pyroute2 import IPRoute

from sensorlab import nftables
from sensorlab.errors import SensorlabError
from sensorlab.names import NFT_TABLE
from sensorlab.run import run


def link_exists(ipr: IPRoute, name: str) -> bool:
    return bool(ipr.link_lookup(ifname=name))


def ensure_bridge(name: str) -> bool:
    """Create an unmanaged Linux bridge. Returns True if it was created."""
    with IPRoute() as ipr:
        created = not link_exists(ipr, name)
        if created:
            ipr.link("add", ifname=name, kind="bridge")
        index = ipr.link_lookup(ifname=name)[0]
        ipr.link("set", index=index, state="up")
    # A mirror bridge must not answer or originate anything on its own:
    # no IPv6 autoconf, no addresses.
    _sysctl(f"net/ipv6/conf/{name}/disable_ipv6", "1")
    # Snooping would keep multicast (MLD, mDNS) from ports that never joined;
    # a sensor must see all of it, and tests must see every leaked frame.
    _write(f"/sys/class/net/{name}/bridge/multicast_snooping", "0")
    return created


def disable_ipv6(name: str) -> None:
    _sysctl(f"net/ipv6/conf/{name}/disable_ipv6", "1")


def ensure_veth(host: str, peer: str, mac: str, master: str) -> bool:
    """Create a veth pair, host end enslaved to ``master``. True if created."""
    with IPRoute() as ipr:
        created = not link_exists(ipr, host)
        if created:
            ipr.link("add", ifname=host, kind="veth", peer={"ifname": peer, "address": mac})
        host_index = ipr.link_lookup(ifname=host)[0]
        master_index = ipr.link_lookup(ifname=master)[0]
        ipr.link("set", index=host_index, master=master_index, state="up")
    _sysctl(f"net/ipv6/conf/{host}/disable_ipv6", "1")
    return created


def set_up(name: str) -> None:
    with IPRoute() as ipr:
        index = ipr.link_lookup(ifname=name)
        if not index:
            raise SensorlabError(
                f"port {name} does not exist on the appliance",
                hint="the sensor file names a port the appliance was not given",
            )
        ipr.link("set", index=index[0], state="up")


def delete_link(name: str) -> None:
    with IPRoute() as ipr:
        index = ipr.link_lookup(ifname=name)
        if index:
            ipr.link("del", index=index[0])


def load_ruleset(text: str) -> None:
    run(["nft", "-f", "-"], input=text)


def delete_ruleset() -> None:
    run(["nft", "-f", "-"], input=nftables.render_delete())


def current_ruleset() -> str | None:
    """The loaded platform table as nft source, or None if there is none."""
    proc = run(["nft", "list", "table", "netdev", NFT_TABLE], check=False)
    return proc.stdout if proc.returncode == 0 else None


def restore_ruleset(previous: str | None) -> None:
    """Put back what ``current_ruleset`` saw: a failed redeploy must not leave
    running instruments without their guards."""
    if previous is None:
        delete_ruleset()
    else:
        load_ruleset(nftables.render_delete() + previous)


def counters() -> dict[str, int]:
    proc = run(["nft", "-j", "list", "table", "netdev", NFT_TABLE], check=False)
    if proc.returncode != 0:
        return {}
    return nftables.parse_counters(proc.stdout)


def _sysctl(key: str, value: str) -> None:
    _write(f"/proc/sys/{key}", value)


def _write(path: str, value: str) -> None:
    try:
        with open(path, "w") as handle:
            handle.write(value)
    except OSError:
        pass  # IPv6 may be disabled entirely; then there is nothing to turn off.
