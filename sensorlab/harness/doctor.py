"""``inv doctor``: is this host able to build, deploy and test? One line per check."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sensorlab import names
from sensorlab.errors import SensorlabError
from sensorlab.harness import lxdhost
from sensorlab.run import find_binary, run


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    hint: str = ""

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        text = f"{mark} {self.name}: {self.detail}"
        return text + (f"  (hint: {self.hint})" if not self.ok and self.hint else "")


def _binary(name: str, package: str) -> Check:
    path = find_binary(name)
    if path is None:
        return Check(name, False, "not found", f"apt-get install {package} (or run ci/bootstrap)")
    return Check(name, True, str(path))


def check_lxd() -> Check:
    try:
        info = lxdhost.client(None).host_info
    except SensorlabError as exc:
        return Check("lxd", False, exc.message, exc.hint or "")
    return Check("lxd", True, f"reachable, LXD {info['environment'].get('server_version', '?')}")


def check_storage_pool() -> Check:
    try:
        pools = [pool.name for pool in lxdhost.client(None).storage_pools.all()]
    except SensorlabError as exc:
        return Check("lxd storage", False, exc.message, exc.hint or "")
    if "default" not in pools:
        return Check("lxd storage", False, "no 'default' storage pool",
                     "initialise LXD with ci/lxd-preseed.yaml (ci/bootstrap does)")
    return Check("lxd storage", True, "pool 'default' present")


def check_nesting(proc: Path = Path("/proc")) -> Check:
    """Nesting needs user namespaces and a kernel that lets LXD run LXD."""
    max_userns = proc / "sys/user/max_user_namespaces"
    if max_userns.exists() and max_userns.read_text().strip() == "0":
        return Check("nesting", False, "user namespaces are disabled",
                     "sysctl -w user.max_user_namespaces=15000")
    if not (proc / "self/ns/user").exists():
        return Check("nesting", False, "kernel has no user namespaces",
                     "use a kernel built with CONFIG_USER_NS")
    uid_map = proc / "self/uid_map"
    # A partial map means this host is itself an unprivileged container: the
    # privileged, nesting appliance cannot run inside it.
    if uid_map.exists() and uid_map.read_text().split() != ["0", "0", "4294967295"]:
        return Check("nesting", False, "this host is itself an unprivileged container",
                     "run on a VM, or give this container security.nesting=true and "
                     "security.privileged=true")
    return Check("nesting", True, "user namespaces available, full uid range")


def check_nftables() -> Check:
    if find_binary("nft") is None:
        return Check("nftables", False, "nft not found", "apt-get install nftables")
    ruleset = (f"table netdev sl_doctor {{\n chain c {{\n  type filter hook ingress device "
               f'"{names.PREFIX}doctor0" priority 0; policy accept;\n }}\n}}\n')
    proc = run(["nft", "-c", "-f", "-"], input=ruleset, check=False)
    if proc.returncode != 0:
        return Check("nftables", False, "netdev ingress chains are refused",
                     "the kernel needs nf_tables with netdev support")
    return Check("nftables", True, "netdev ingress chains accepted")


def check_root() -> Check:
    if os.geteuid() != 0:
        return Check("root", False, "not running as root", "run the harness as root (sudo)")
    return Check("root", True, "running as root")


def check_ports() -> Check:
    """A lab port held by something that is not sensorlab's appliance blocks deploy."""
    for segment in names.SEGMENTS:
        link = names.segment_host_veth(segment)
        if Path(f"/sys/class/net/{link}").exists() and not Path(
            f"/run/netns/{names.segment_netns(segment)}"
        ).exists():
            return Check("lab ports", False, f"{link} exists without its namespace",
                         "run `inv clean` to remove leftovers")
    return Check("lab ports", True, "free")


CHECKS: tuple[Callable[[], Check], ...] = (
    check_root,
    check_lxd,
    check_storage_pool,
    check_nesting,
    check_nftables,
    lambda: _binary("fscrypt", "fscrypt"),
    lambda: _binary("nats-server", "nats-server"),
    lambda: _binary("debootstrap", "debootstrap"),
    lambda: _binary("busybox", "busybox-static"),
    lambda: _binary("nsenter", "util-linux"),
    check_ports,
)


def run_checks() -> list[Check]:
    return [check() for check in CHECKS]
