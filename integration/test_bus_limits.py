"""The bus under load: payload limit and slow-consumer handling keep a flood contained.

Bounded: the flood stops after FLOOD_MESSAGES or FLOOD_SECONDS, whichever
comes first. The twin raises the payload limit and sees the oversized
message accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from typing import Any

import pytest
from nats.aio.msg import Msg

from integration import bus_lab
from integration.bus_lab import Party
from integration.test_bus import lab, run
from sensorlab import names
from sensorlab.bus.client import BusClient
from sensorlab.planner.render_nats import BusLimits
from sensorlab.spec import Deployment

pytestmark = [pytest.mark.integration, pytest.mark.bus]
__all__ = ["lab"]  # the fixture, shared with test_bus

FLOOD_MESSAGES = 12000  # bounded flood: count ...
FLOOD_SECONDS = 10.0  # ... and time
FLOOD_PAYLOAD = 2048
WELL_BEHAVED = 200


# --- floods and limits ---------------------------------------------------------------------
def _raw(party: Party, timeout: float = 5) -> socket.socket:
    """A hand-made NATS connection through the party's own socket."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(party.root + party.credential.socket)
    assert sock.recv(4096).startswith(b"INFO")
    connect = {"user": party.credential.user, "pass": party.credential.password,
               "verbose": False, "pedantic": False}
    sock.sendall(f"CONNECT {json.dumps(connect)}\r\nPING\r\n".encode())
    # The server may ping first (it measures round trips on new clients).
    assert b"PONG" in _read_for(sock, timeout, b"PONG")
    sock.settimeout(timeout)
    return sock


def _read_for(sock: socket.socket, seconds: float, until: bytes,
              answer_pings: bool = True) -> bytes:
    """What the server says within ``seconds`` (stopping at ``until``), answering its pings
    unless told not to (in the middle of a PUB a PONG would be read as payload)."""
    got, deadline = b"", time.monotonic() + seconds
    sock.settimeout(0.5)
    while until not in got and time.monotonic() < deadline:
        try:
            data = sock.recv(4096)
        except TimeoutError:
            continue
        except OSError as exc:
            return got + repr(exc).encode()
        if not data:
            break
        got += data
        if answer_pings and b"PING\r\n" in data:
            sock.sendall(b"PONG\r\n")
    return got


def _oversized_publish(party: Party, size: int) -> bytes:
    """The server judges the size from the PUB line alone; the body follows only if it
    kept listening (sending it at once races the server's close into a reset).
    nats-server pings a new client 2-2.4 s after it connects, which can fall inside
    the wait below: that ping is answered after the body, since a PONG sent in the
    middle of the PUB would be read as payload (it failed a CI run once)."""
    with contextlib.closing(_raw(party)) as sock:
        sock.sendall(f"PUB sensorlab.platform.loner.status {size}\r\n".encode())
        said = _read_for(sock, 2, b"-ERR", answer_pings=False)
        if b"-ERR" in said:
            return said
        owed = b"PONG\r\n" if b"PING\r\n" in said else b""
        sock.sendall(b"x" * size + b"\r\n" + owed + b"PING\r\n")
        return said + _read_for(sock, 5, b"PONG")


def test_oversized_message_is_refused(lab: dict[str, Party]) -> None:
    reply = _oversized_publish(lab["loner"], BusLimits().max_payload + 1)
    assert b"Maximum Payload" in reply


def test_twin_oversized_message_passes_with_a_larger_limit(lab: dict[str, Party],
                                                          deployment: Deployment) -> None:
    gen = bus_lab.with_limits(BusLimits(max_payload=1 << 20))
    next(gen)
    try:
        reply = _oversized_publish(lab["loner"], BusLimits().max_payload + 1)
        assert b"PONG" in reply and b"-ERR" not in reply
    finally:
        next(gen, None)


async def _flood(lab: dict[str, Party], tag: str) -> dict[str, Any]:
    lazy = await asyncio.to_thread(_raw, lab["pdns"])
    lazy.sendall(b"SUB instruments.bus-ids.ev.> 1\r\nPING\r\n")  # ... and then never reads
    flooder = await BusClient.connect(lab["ids"].credential, lab["ids"].opener,
                                      pending_size=64 << 20)
    sender = await BusClient.connect(lab["msgr"].credential, lab["msgr"].opener)
    receiver = await BusClient.connect(lab["pdns"].credential, lab["pdns"].opener)
    received: list[bytes] = []
    try:
        async def keep(msg: Msg) -> None:
            received.append(msg.data)

        await receiver.subscribe_direct(keep)
        await receiver.flush()
        started = time.monotonic()

        async def flood() -> int:
            sent, blob = 0, b"f" * FLOOD_PAYLOAD
            while sent < FLOOD_MESSAGES and time.monotonic() - started < FLOOD_SECONDS:
                await flooder.publish_event("instruments.bus-ids.ev.flood", blob)
                sent += 1
                if sent % 200 == 0:
                    await asyncio.sleep(0)
            await flooder.flush(timeout=30)
            return sent

        async def talk() -> None:
            for i in range(WELL_BEHAVED):
                await sender.send_direct("pdns", f"{tag}-{i}".encode())
                await asyncio.sleep(0.01)
            await sender.flush()

        sent, _ = await asyncio.gather(flood(), talk())
        deadline = time.monotonic() + 10
        while len(received) < WELL_BEHAVED and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        cut_off = await asyncio.to_thread(_drained_to_eof, lazy)
        return {"sent": sent, "received": len(received), "cut_off": cut_off,
                "seconds": time.monotonic() - started}
    finally:
        lazy.close()
        for client in (flooder, sender, receiver):
            await client.close()


def _drained_to_eof(sock: socket.socket, timeout: float = 15) -> bool:
    """True if the server closed the lazy subscriber (read what was buffered, then EOF)."""
    deadline = time.monotonic() + timeout
    sock.settimeout(1)
    while time.monotonic() < deadline:
        try:
            if not sock.recv(1 << 20):
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


def test_flooding_instrument_does_not_stop_the_others(lab: dict[str, Party], tag: str) -> None:
    result = run(_flood(lab, tag))
    assert result["received"] == WELL_BEHAVED, result
    assert result["cut_off"] is True, f"the slow consumer was not cut off: {result}"
    log = bus_lab.appliance_sh(f"journalctl -u {names.BUS_SERVICE} --since -2min --no-pager",
                               check=False)
    assert "Slow Consumer" in log
