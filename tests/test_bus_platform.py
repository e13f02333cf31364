"""The platform's bus pieces that are pure: secrets, limits, the tap's records, the relay."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path

from plan_checks import check_nats

from sensorlab import names
from sensorlab.bus.credential import Credential
from sensorlab.bus.relay import Relay
from sensorlab.planner import plan_sensor
from sensorlab.planner.render_nats import BusLimits, render_nats, render_secrets
from sensorlab.platform.bus import parse_secrets, plan_secrets
from sensorlab.platform.natsproto import Message
from sensorlab.platform.tap import event_patterns, record
from sensorlab.spec import Deployment

REPO = Path(__file__).resolve().parent.parent


def lab() -> Deployment:
    return plan_sensor(REPO / "sensors" / "lab.yaml").deployment



def test_every_user_gets_its_own_password_and_only_instruments_get_deliveries() -> None:
    deployment = lab()
    count = itertools.count()
    plan = plan_secrets(deployment, {}, frozenset(), False, lambda: f"pw{next(count)}",
                        lambda plain: f"hash:{plain}")
    users = {i.bus.user for i in deployment.instruments} | {names.PLATFORM_BUS_USER}
    assert set(plan.hashes) == users
    assert len(set(plan.hashes.values())) == len(users)
    assert set(plan.deliver) == {i.name for i in deployment.instruments}
    for name, cred in plan.deliver.items():
        assert plan.hashes[cred.user] == f"hash:{cred.password}"
        assert cred.socket == names.BUS_SOCKET and cred.inbox == f"_INBOX.{name}"
    assert plan.platform is not None and plan.platform.server == names.BUS_LISTEN
    assert plan.platform.password not in {c.password for c in plan.deliver.values()}


def test_running_instruments_and_the_platform_keep_their_credentials_on_redeploy() -> None:
    deployment = lab()
    first = plan_secrets(deployment, {}, frozenset(), False, lambda: "a", lambda p: "h1")
    previous = parse_secrets(render_secrets(first.hashes))
    assert len(previous) == len(first.hashes)
    again = plan_secrets(deployment, previous, frozenset({"ids"}), True, lambda: "b",
                         lambda p: "h2")
    assert "ids" not in again.deliver and again.platform is None
    assert again.hashes["ids"] == "h1" and again.hashes[names.PLATFORM_BUS_USER] == "h1"
    assert again.hashes["pdns"] == "h2" and "pdns" in again.deliver


def test_limits_are_rendered_and_the_server_accepts_them() -> None:
    deployment = lab()
    conf = render_nats(deployment, BusLimits(max_payload=1024, max_pending=65536))
    assert "max_payload: 1024\n" in conf and "max_pending: 65536\n" in conf
    assert "max_subscriptions: 1000\n" in conf
    check_nats(conf, deployment)


def test_credential_round_trips_and_names_its_socket() -> None:
    cred = Credential(user="ids", password="s3cret", inbox="_INBOX.ids", socket="/run/x.sock")
    assert Credential.from_json(cred.to_json()) == cred


def test_tap_records_events_with_their_sender() -> None:
    owners = event_patterns(lab())
    assert owners == {"instruments.bus-ids.ev.>": "ids", "instruments.bus-ids.warning": "ids",
                      "instruments.bus-pdns.aggregation": "pdns"}
    line = record(Message("instruments.bus-ids.ev.dns", "", b"q=example"), owners, 12.5)
    assert json.loads(line) == {"time": 12.5, "subject": "instruments.bus-ids.ev.dns",
                                "sender": "ids", "data": "q=example", "encoding": "utf-8"}
    binary = json.loads(record(Message("instruments.bus-ids.warning", "", b"\xff"), owners, 0))
    assert binary["encoding"] == "base64" and binary["data"] == "/w=="


def test_relay_forwards_both_ways() -> None:
    async def scenario() -> bytes:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"echo:" + await reader.readline())
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        relay = await Relay(lambda: asyncio.open_connection("127.0.0.1", port)).start()
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        writer.write(b"hello\n")
        await writer.drain()
        answer = await reader.read()
        writer.close()
        await relay.close()
        server.close()
        return answer

    assert asyncio.run(scenario()) == b"echo:hello\n"
