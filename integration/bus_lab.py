"""The bus as the tests see it: each instrument's own socket and credential, an oracle
derived from the manifests, the allow/deny matrix, and control of the appliance's server.

The credential and socket are read through ``/proc/<pid>/root`` of the
instrument's init, so a client here holds exactly what that instrument holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shlex
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from nats.aio.msg import Msg

from sensorlab import names
from sensorlab.bus.client import BusClient
from sensorlab.bus.credential import CREDENTIAL_PATH, Credential
from sensorlab.bus.relay import Opener, netns_tcp_opener, unix_opener
from sensorlab.harness import deploy, lxdhost, topology
from sensorlab.harness.paths import REPO
from sensorlab.planner.manifest import MatchType, Permission, load_manifest
from sensorlab.planner.render_nats import BusLimits
from sensorlab.spec import Deployment

PLATFORM = names.PLATFORM_BUS_USER
CONF = f"{names.BUS_CONFIG_DIR}/{names.BUS_CONFIG_FILE}"


# --- who is who -------------------------------------------------------------------
@dataclass(frozen=True)
class Party:
    name: str
    credential: Credential
    opener: Opener  # through the instrument's socket (the platform: loopback TCP)
    root: str  # /proc/<pid>/root of its init


def parties(deployment: Deployment) -> dict[str, Party]:
    status = deploy.platform_status()["instruments"]
    assert isinstance(status, dict)
    appliance = lxdhost.appliance_pid()
    found = {}
    for spec in deployment.instruments:
        root = f"/proc/{topology.host_pid(int(status[spec.name]['pid']), appliance)}/root"
        cred = Credential.from_json(Path(root + CREDENTIAL_PATH).read_text())
        found[spec.name] = Party(spec.name, cred, unix_opener(root + cred.socket), root)
    root = f"/proc/{appliance}/root"
    cred = Credential.from_json(Path(root + names.BUS_PLATFORM_CREDENTIAL).read_text())
    host, port = cred.server.rsplit(":", 1)
    found[PLATFORM] = Party(PLATFORM, cred, netns_tcp_opener(f"/proc/{appliance}/ns/net", host,
                                                                int(port)), root)
    return found


async def connect_all(lab: dict[str, Party]) -> dict[str, BusClient]:
    clients = await asyncio.gather(*(BusClient.connect(p.credential, p.opener)
                                     for p in lab.values()))
    return {c.name: c for c in clients}


async def close_all(clients: dict[str, BusClient]) -> None:
    await asyncio.gather(*(c.close() for c in clients.values()), return_exceptions=True)


# --- the oracle: what the manifests allow, decided here independently of the planner --
@dataclass(frozen=True)
class Cell:
    kind: str
    subject: str
    publishers: frozenset[str]  # who may publish it
    subscribers: frozenset[str]  # who may receive it


def oracle(deployment: Deployment) -> list[Cell]:
    # Each deployed instrument's own manifest, read here, not the planner's output.
    man = {i.name: load_manifest(REPO / "instruments" / i.type / "manifest.yaml")
           for i in deployment.instruments}
    inst = sorted(man)

    def rel(a: str, b: str, perm: Permission | None = None) -> bool:
        return any(r.instrument_type == man[b].type and (perm is None or perm in r.permissions)
                   for r in man[a].relations)

    cells = []
    for p in inst:
        for event in man[p].events:
            subject = event.subject.replace(">", "probe")
            readers = {r for r in inst if r != p and rel(r, p)}
            cells.append(Cell("event", subject, frozenset({p, PLATFORM}),
                              frozenset(readers | {PLATFORM})))
    types = sorted({man[i].type for i in inst})
    for s in inst:
        cells.append(Cell("status", f"sensorlab.platform.{s}.status", frozenset({s, PLATFORM}),
                          frozenset({PLATFORM})))
        cells.append(Cell("request", f"sensorlab.platform.{s}.request.download",
                          frozenset({s, PLATFORM}), frozenset({PLATFORM})))
        cells.append(Cell("cmd", f"sensorlab.cmd.{s}", frozenset({PLATFORM}),
                          frozenset({s, PLATFORM})))
        cells.append(Cell("inbox", f"_INBOX.{s}.probe", frozenset({PLATFORM}),
                          frozenset({s, PLATFORM})))
        for t in types:
            finds = any(r.instrument_type == t and Permission.FIND in r.permissions
                        for r in man[s].relations)
            cells.append(Cell("find", f"sensorlab.platform.{s}.find.{t}",
                              frozenset({s, PLATFORM} if finds else {PLATFORM}),
                              frozenset({PLATFORM})))
        for r in inst:
            if r != s:
                dm = rel(s, r, Permission.DIRECT_MESSAGE)
                cells.append(Cell("dm", f"sensorlab.dm.{r}.{s}",
                                  frozenset({s, PLATFORM} if dm else {PLATFORM}),
                                  frozenset({r, PLATFORM})))
    assert all(e.type in (MatchType.EXACT, MatchType.PREFIX) for m in man.values()
               for e in m.events)
    return cells


# --- the matrix ------------------------------------------------------------------------
@dataclass
class Matrix:
    allowed: int = 0
    denied: int = 0
    failures: list[str] = field(default_factory=list)
    leaked: list[tuple[str, str, str]] = field(default_factory=list)  # denied yet delivered


async def run_matrix(clients: dict[str, BusClient], cells: list[Cell], tag: str,
                     settle: float = 1.0) -> Matrix:
    """Every party subscribes to every subject; every party publishes on every subject.

    A cell is (sender, receiver, subject). Allowed: delivered. Denied: not
    delivered, and the server reported the violation (the sender's publish or
    the receiver's subscription) through the error callback after a flush.
    """
    got: set[tuple[str, str]] = set()  # (receiver, payload)
    subs = []
    for client in clients.values():
        client.violations.clear()
    for cell in cells:
        for name, client in clients.items():
            async def cb(msg: Msg, name: str = name) -> None:
                got.add((name, msg.data.decode()))
            subs.append(await client.subscribe(cell.subject, cb))
    await asyncio.gather(*(c.flush() for c in clients.values()))
    for index, cell in enumerate(cells):
        for name, client in clients.items():
            await client.publish(cell.subject, f"{tag}|{index}|{name}".encode())
    await asyncio.gather(*(c.flush() for c in clients.values()))
    await asyncio.sleep(settle)
    result = Matrix()
    for index, cell in enumerate(cells):
        for sender, s_client in clients.items():
            payload = f"{tag}|{index}|{sender}"
            for receiver, r_client in clients.items():
                if receiver == sender:
                    continue
                delivered = (receiver, payload) in got
                expect = sender in cell.publishers and receiver in cell.subscribers
                where = f"{cell.kind} {cell.subject}: {sender} -> {receiver}"
                if expect:
                    result.allowed += 1
                    if not delivered:
                        result.failures.append(f"allowed but not delivered: {where}")
                else:
                    result.denied += 1
                    if delivered:
                        result.leaked.append((sender, receiver, cell.subject))
                        result.failures.append(f"denied but delivered: {where}")
                    elif not (s_client.violated("publish", cell.subject)
                              or r_client.violated("subscription", cell.subject)):
                        result.failures.append(f"denied without a violation reported: {where}")
    for sub in subs:
        with contextlib.suppress(Exception):  # the connection may already be closed
            await sub.unsubscribe()
    return result


# --- the appliance's server -------------------------------------------------------------
def appliance_sh(script: str, check: bool = True) -> str:
    proc = lxdhost.exec_in_appliance("sh", "-c", script, check=check)
    return str(proc.stdout)


def restart_bus() -> None:
    appliance_sh(f"systemctl restart {names.BUS_SERVICE}")
    wait_bus()


def wait_bus(timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while "LISTEN" not in appliance_sh("ss -ltn 'sport = :4222'", check=False):
        assert time.monotonic() < deadline, "the bus did not come back"
        time.sleep(0.2)


def opened(conf: str) -> str:
    """Every user may publish and subscribe to everything: the twins' config.

    Rewritten from the server's current file, so the users still match the
    hashes in bus-secrets.conf (nats-server refuses a variable no user uses).
    """
    opened_conf, count = re.subn(r"(publish|subscribe): \{allow: \[[^\]]*\]\}",
                                 r'\1: {allow: [">"]}', conf)
    assert count >= 2, "no permissions found in nats.conf"
    return opened_conf


def limited(limits: BusLimits) -> Callable[[str], str]:
    def change(conf: str) -> str:
        changed, count = re.subn(r"(?m)^max_payload: \d+$", f"max_payload: {limits.max_payload}",
                                 conf)
        assert count == 1, "no max_payload in nats.conf"
        return changed

    return change


def swapped_config(change: Callable[[str], str]) -> Iterator[None]:
    """Run the server on a changed copy of its config, then put the real one back."""
    saved = f"{CONF}.saved"
    current = appliance_sh(f"cat {CONF}")
    appliance_sh(f"cp -p {CONF} {saved} && printf %s {shlex.quote(change(current))} > {CONF}")
    try:
        restart_bus()
        yield
    finally:
        appliance_sh(f"mv {saved} {CONF}")
        restart_bus()


def permissive() -> Iterator[None]:
    yield from swapped_config(opened)


def with_limits(limits: BusLimits) -> Iterator[None]:
    yield from swapped_config(limited(limits))
