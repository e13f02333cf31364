"""The bus: per-instrument credentials, socket-only access, and the ACL matrix end to end.

Each client here connects with one instrument's own credential through that
instrument's own socket (read via /proc/<pid>/root), so it holds exactly what
the instrument holds. Every negative proof has a twin that runs the server
with the enforcement removed and sees the leak. Floods and limits: test_bus_limits.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from nats.aio.msg import Msg

from integration import bus_lab
from integration.bus_lab import PLATFORM, Party
from integration.conftest import unavailable
from sensorlab import names
from sensorlab.bus.client import BusClient
from sensorlab.harness import lxdhost
from sensorlab.spec import Deployment, NetworkMode

T = TypeVar("T")
pytestmark = [pytest.mark.integration, pytest.mark.bus]



@pytest.fixture(scope="module")
def lab(deployment: Deployment) -> dict[str, Party]:
    wanted = {"ids", "pdns", "msgr", "loner"}
    if not wanted <= {i.name for i in deployment.instruments}:
        unavailable(f"the lab sensor must deploy {sorted(wanted)} for the bus proofs")
    try:
        return bus_lab.parties(deployment)
    except FileNotFoundError as exc:
        unavailable(f"an instrument has no bus credential or socket: {exc}")


@pytest.fixture
def permissive(deployment: Deployment) -> Iterator[None]:
    yield from bus_lab.permissive()


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def _matrix(lab: dict[str, Party], deployment: Deployment, tag: str,
                  restart_between: bool = False) -> list[bus_lab.Matrix]:
    clients = await bus_lab.connect_all(lab)
    try:
        cells = bus_lab.oracle(deployment)
        results = [await bus_lab.run_matrix(clients, cells, tag)]
        if restart_between:
            await asyncio.to_thread(bus_lab.restart_bus)
            deadline = time.monotonic() + 20
            while any(c.reconnects == 0 for c in clients.values()):
                assert time.monotonic() < deadline, {n: c.reconnects for n, c in clients.items()}
                await asyncio.sleep(0.2)
            results.append(await bus_lab.run_matrix(clients, cells, tag + "-after"))
        return results
    finally:
        await bus_lab.close_all(clients)


def test_full_matrix_allowed_delivers_denied_is_rejected(lab: dict[str, Party],
                                                         deployment: Deployment, tag: str) -> None:
    (matrix,) = run(_matrix(lab, deployment, tag))
    assert matrix.failures == []
    assert matrix.allowed > 50 and matrix.denied > 500, (matrix.allowed, matrix.denied)


def test_twin_permissive_server_leaks_every_denied_cell(lab: dict[str, Party],
                                                       deployment: Deployment, permissive: None,
                                                       tag: str) -> None:
    (matrix,) = run(_matrix(lab, deployment, tag))
    assert matrix.denied > 500 and len(matrix.leaked) == matrix.denied


def test_matrix_holds_after_a_server_restart(lab: dict[str, Party], deployment: Deployment,
                                             tag: str) -> None:
    before, after = run(_matrix(lab, deployment, tag, restart_between=True))
    assert before.failures == [] and after.failures == []
    assert after.allowed == before.allowed and after.denied == before.denied


# --- impersonation, snooping, the lonely instrument ----------------------------------------
async def _impersonation(lab: dict[str, Party], tag: str) -> dict[str, Any]:
    clients = await bus_lab.connect_all(lab)
    got: list[str] = []
    try:
        async def keep(msg: Msg) -> None:
            got.append(msg.subject)

        await clients["pdns"].subscribe_direct(keep)
        await clients[PLATFORM].subscribe("sensorlab.platform.*.status", keep)
        await clients["msgr"].subscribe("instruments.bus-pdns.aggregation", keep)
        await asyncio.gather(*(c.flush() for c in clients.values()))
        forged = {  # loner and ids pose as others on the subjects that name the sender
            "loner": ["sensorlab.dm.pdns.msgr", "sensorlab.platform.ids.status"],
            "ids": ["instruments.bus-pdns.aggregation", "sensorlab.platform.pdns.status"],
        }
        for who, subjects in forged.items():
            for subject in subjects:
                await clients[who].publish(subject, tag.encode())
            await clients[who].flush()
        await clients["msgr"].send_direct("pdns", tag.encode())  # the genuine one
        await clients["msgr"].flush()
        await asyncio.sleep(0.5)
        return {"got": got, "violations": {w: clients[w].violations for w in forged}}
    finally:
        await bus_lab.close_all(clients)


def test_impersonation_is_rejected(lab: dict[str, Party], tag: str) -> None:
    result = run(_impersonation(lab, tag))
    assert result["got"] == ["sensorlab.dm.pdns.msgr"]  # only msgr's own message
    assert result["violations"] == {
        "loner": [("publish", "sensorlab.dm.pdns.msgr"),
                  ("publish", "sensorlab.platform.ids.status")],
        "ids": [("publish", "instruments.bus-pdns.aggregation"),
                ("publish", "sensorlab.platform.pdns.status")],
    }


def test_twin_impersonation_succeeds_without_enforcement(lab: dict[str, Party],
                                                        permissive: None, tag: str) -> None:
    result = run(_impersonation(lab, tag))
    assert sorted(result["got"]) == sorted([
        "sensorlab.dm.pdns.msgr", "sensorlab.dm.pdns.msgr", "sensorlab.platform.ids.status",
        "instruments.bus-pdns.aggregation", "sensorlab.platform.pdns.status"])


async def _snoop(lab: dict[str, Party], tag: str) -> dict[str, Any]:
    clients = await bus_lab.connect_all(lab)
    snooped: list[bytes] = []
    try:
        async def answer(msg: Msg) -> None:
            await msg.respond(b"answer-" + tag.encode())

        async def snoop(msg: Msg) -> None:
            snooped.append(msg.data)

        await clients["pdns"].subscribe_direct(answer)
        for spy in ("ids", "loner"):
            await clients[spy].subscribe("_INBOX.msgr.>", snoop)
            await clients[spy].subscribe("_INBOX.>", snoop)
            await clients[spy].flush()
        await clients["pdns"].flush()
        reply = await clients["msgr"].request_direct("pdns", tag.encode(), timeout=3)
        # No standing right to write into someone's inbox either.
        await clients["ids"].publish("_INBOX.msgr.fake", b"forged")
        await clients["ids"].flush()
        await asyncio.sleep(0.5)
        return {"reply": reply.data, "snooped": snooped,
                "violations": {s: clients[s].violations for s in ("ids", "loner")}}
    finally:
        await bus_lab.close_all(clients)


def test_reply_snooping_is_rejected(lab: dict[str, Party], tag: str) -> None:
    result = run(_snoop(lab, tag))
    assert result["reply"] == b"answer-" + tag.encode()
    assert result["snooped"] == []
    violations = result["violations"]
    # nats-py reports subjects lower-cased.
    assert ("subscription", "_inbox.msgr.>") in violations["loner"]
    assert ("subscription", "_inbox.>") in violations["ids"]
    assert ("publish", "_inbox.msgr.fake") in violations["ids"]


def test_twin_reply_snooping_works_without_enforcement(lab: dict[str, Party], permissive: None,
                                                      tag: str) -> None:
    result = run(_snoop(lab, tag))
    assert (b"answer-" + tag.encode()) in result["snooped"]


async def _loner(lab: dict[str, Party], tag: str) -> tuple[list[str], list[tuple[str, str]]]:
    clients = await bus_lab.connect_all(lab)
    seen: list[str] = []
    try:
        async def keep(msg: Msg) -> None:
            seen.append(msg.subject)

        loner = clients["loner"]
        for pattern in (">", "instruments.>", "sensorlab.>", "_INBOX.>", "sensorlab.dm.*.*"):
            await loner.subscribe(pattern, keep)
        await loner.flush()
        for name, client in clients.items():
            if name == "loner":
                continue
            for subject in ("instruments.bus-ids.ev.dns", "instruments.bus-ids.warning",
                            "instruments.bus-pdns.aggregation", "sensorlab.dm.pdns.msgr",
                            f"sensorlab.platform.{name}.status", "sensorlab.cmd.ids"):
                await client.publish(subject, tag.encode())
            await client.flush()
        await asyncio.sleep(0.5)
        return seen, loner.violations
    finally:
        await bus_lab.close_all(clients)


def test_instrument_without_relations_sees_nothing(lab: dict[str, Party], tag: str) -> None:
    seen, violations = run(_loner(lab, tag))
    assert seen == []
    assert {subject for kind, subject in violations if kind == "subscription"} == {
        ">", "instruments.>", "sensorlab.>", "_inbox.>", "sensorlab.dm.*.*"}


def test_twin_loner_sees_traffic_without_enforcement(lab: dict[str, Party], permissive: None,
                                                     tag: str) -> None:
    seen, _ = run(_loner(lab, tag))
    assert "instruments.bus-ids.ev.dns" in seen and "sensorlab.dm.pdns.msgr" in seen


# --- credentials and the absent network path -------------------------------------------------
def _grep_in(container: str, needle: str) -> str:
    dirs = "/bin /etc /home /lib /root /run /sbin /tmp /usr /var /data"
    proc = lxdhost.exec_in_appliance(
        "lxc", "exec", container, "--", "sh", "-c",
        f"grep -rlF -e '{needle}' {dirs} 2>/dev/null; true")
    return str(proc.stdout).strip()


def test_instrument_cannot_read_another_instruments_credential(lab: dict[str, Party],
                                                                deployment: Deployment) -> None:
    for a in deployment.instruments:
        own = _grep_in(a.container, lab[a.name].credential.password)
        assert own == "/etc/sensorlab/bus.json", f"{a.name} cannot find its own credential"
        for b in deployment.instruments:
            if b.name != a.name:
                assert _grep_in(a.container, lab[b.name].credential.password) == "", \
                    f"{a.name} can read {b.name}'s credential"
    info = lxdhost.exec_in_appliance("lxc", "exec", deployment.instruments[0].container, "--",
                                     "stat", "-c", "%a %u", "/etc/sensorlab/bus.json").stdout
    assert info.split() == ["600", "1000"]


def test_twin_leaked_credential_is_found(lab: dict[str, Party]) -> None:
    """The search above can fail: B's credential copied into A is found."""
    leak = "/tmp/leaked-bus.json"
    a, b = names.instrument_container("ids"), lab["pdns"]
    bus_lab.appliance_sh(f"lxc file push - {a}{leak} <<'EOF'\n{b.credential.to_json()}EOF")
    try:
        assert _grep_in(a, b.credential.password) == leak
    finally:
        lxdhost.exec_in_appliance("lxc", "exec", a, "--", "rm", "-f", leak)


def test_another_instruments_name_without_its_password_is_refused(lab: dict[str, Party]) -> None:
    import dataclasses

    import nats.errors

    forged = dataclasses.replace(lab["ids"].credential, user="pdns")

    async def attempt() -> None:
        client = await BusClient.connect(forged, lab["ids"].opener, max_reconnect_attempts=0,
                                         allow_reconnect=False)
        await client.close()

    with pytest.raises((nats.errors.Error, OSError)):
        run(attempt())


def test_bus_only_instruments_have_no_network_path(deployment: Deployment) -> None:
    for spec in deployment.instruments:
        if spec.network is not NetworkMode.NONE:
            continue
        links = lxdhost.exec_in_appliance("lxc", "exec", spec.container, "--",
                                          "ls", "/sys/class/net").stdout.split()
        assert links == ["lo"], f"{spec.name} has links {links}"
        # The bus address means nothing inside: its loopback is its own.
        proc = lxdhost.exec_in_appliance("lxc", "exec", spec.container, "--", "sh", "-c",
                                         "nc -w 2 127.0.0.1 4222 </dev/null", check=False)
        assert proc.returncode != 0 and "INFO" not in proc.stdout


# --- the tap -------------------------------------------------------------------------------
def test_platform_tap_records_instrument_events(lab: dict[str, Party], tag: str) -> None:
    async def publish() -> None:
        client = await BusClient.connect(lab["ids"].credential, lab["ids"].opener)
        try:
            await client.publish_event("instruments.bus-ids.ev.dns", f"dns {tag}".encode())
            await client.flush()
        finally:
            await client.close()

    run(publish())
    deadline = time.monotonic() + 10
    while True:
        out = lxdhost.exec_in_appliance("sensorlab-platform", "events", "--last", "500").stdout
        found = [json.loads(line) for line in out.splitlines() if tag in line]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert found and found[0]["sender"] == "ids"
    assert found[0]["subject"] == "instruments.bus-ids.ev.dns"

