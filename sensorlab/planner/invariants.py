"""Isolation invariants of a Deployment, checked without any tool or daemon.

The planner builds plans that satisfy these by construction; this is the
independent second opinion the property tests (and anyone holding a
deployment.json) can ask for. ``problems()`` returns what is wrong, empty if
nothing.
"""

from __future__ import annotations

import re
from collections import Counter

from sensorlab import names
from sensorlab.planner import bus
from sensorlab.spec import Deployment, InstrumentSpec, NetworkMode

_CHAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,255}$")
_SUBJECT_TOKEN = re.compile(r"^([A-Za-z0-9_-]+|\*|>)$")


def _subject_ok(subject: str) -> bool:
    tokens = subject.split(".")
    return all(_SUBJECT_TOKEN.match(t) for t in tokens) and ">" not in tokens[:-1]


def _network(spec: InstrumentSpec) -> list[str]:
    found = []
    if spec.network == NetworkMode.NONE and (spec.nics or spec.bridged_nics or spec.physical_nics):
        found.append(f"{spec.name}: network none but has NICs")
    if spec.network == NetworkMode.PASSIVE and (spec.bridged_nics or spec.physical_nics):
        found.append(f"{spec.name}: passive but has a NIC that can transmit")
    for nic in spec.nics:
        if nic.guard_chain != names.guard_chain(spec.name, nic.name):
            found.append(f"{spec.name}/{nic.name}: guard chain is not the one names.py builds")
    return found


def _bus(deployment: Deployment) -> list[str]:
    found = []
    users = Counter(i.bus.user for i in deployment.instruments)
    found += [f"bus user {u} appears {n} times" for u, n in users.items() if n > 1]
    if names.PLATFORM_BUS_USER in users:
        found.append("an instrument holds the platform's bus user")
    publishers: list[tuple[str, str]] = []
    for spec in deployment.instruments:
        me = spec.name
        for subject in spec.bus.publish + spec.bus.subscribe:
            if not _subject_ok(subject):
                found.append(f"{me}: {subject!r} is not a valid subject")
        for subject in spec.bus.publish:
            tokens = subject.split(".")
            if subject.startswith("sensorlab.dm.") and tokens[-1] != me:
                found.append(f"{me}: may send direct messages as {tokens[-1]}")
            elif subject.startswith("sensorlab.platform.") and tokens[2] != me:
                found.append(f"{me}: may speak to the platform as {tokens[2]}")
            elif subject.startswith(("sensorlab.", "_INBOX.")) and not subject.startswith(
                ("sensorlab.dm.", "sensorlab.platform.")
            ):
                found.append(f"{me}: may publish platform subject {subject}")
            elif not subject.startswith("sensorlab."):
                publishers.append((me, subject))
        for subject in spec.bus.subscribe:
            tokens = subject.split(".")
            # Private subjects carry their owner: _INBOX.<owner>, sensorlab.{dm,cmd}.<owner>.
            owner = tokens[1] if tokens[0] == "_INBOX" else (
                tokens[2] if tokens[:2] in (["sensorlab", "dm"], ["sensorlab", "cmd"]) else me
            )
            if owner != me or subject.startswith("sensorlab.platform."):
                found.append(f"{me}: may read {subject}, meant for another")
    for i, (a, sa) in enumerate(publishers):
        found += [f"{a} and {b} both publish into {sa} / {sb}"
                  for b, sb in publishers[i + 1:] if a != b and bus.overlap(sa, sb)]
    return found


def problems(deployment: Deployment) -> list[str]:
    found: list[str] = []
    links: list[str] = [*deployment.mirror_bridges, *(b.name for b in deployment.bridges)]
    chains: list[str] = [m.chain for m in deployment.mirrors]
    bridges = set(links)
    ports = [m.port for m in deployment.mirrors] + [b.port for b in deployment.bridges]
    for spec in deployment.instruments:
        if not names.valid_lxd_name(spec.container):
            found.append(f"{spec.name}: container name {spec.container!r} is not valid in LXD")
        found += _network(spec)
        veths = [(n.name, n.host_veth, n.peer_veth, n.bridge) for n in spec.nics]
        veths += [(n.name, n.host_veth, n.peer_veth, n.bridge) for n in spec.bridged_nics]
        for nic, host, peer, bridge in veths:
            links += [host, peer]
            if bridge not in bridges:
                found.append(f"{spec.name}/{nic}: bridge {bridge} is not planned")
        chains += [n.guard_chain for n in spec.nics] + [n.filter_chain for n in spec.bridged_nics]
        ports += [p.port for p in spec.physical_nics]
    mirror_users = Counter(n.bridge for i in deployment.instruments for n in i.nics
                           if n.bridge in deployment.mirror_bridges)
    found += [f"mirror bridge {b} is shared" for b, n in mirror_users.items() if n > 1]
    for mirror in deployment.mirrors:
        found += [f"{mirror.chain}: dup target {b} is not a mirror bridge"
                  for b in mirror.bridges if b not in deployment.mirror_bridges]
    found += [f"link name {n!r} is not valid" for n in links + ports
              if not names.valid_link_name(n)]
    found += [f"link {n} is planned twice" for n, c in Counter(links).items() if c > 1]
    found += [f"port {n} has two uses" for n, c in Counter(ports).items() if c > 1]
    found += [f"chain {n!r} is not a valid name" for n in chains if not _CHAIN.match(n)]
    found += [f"chain {n} is planned twice" for n, c in Counter(chains).items() if c > 1]
    return found + _bus(deployment)
