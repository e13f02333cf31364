"""The instruments' bus client: nats-py, the subject scheme, and the socket relay.

Every subject comes from ``sensorlab.planner.bus``, so an instrument using
this library publishes and listens exactly where its rights are. Permission
violations arrive only asynchronously (after a flush) through nats-py's
error callback; they are kept in ``violations`` as (``publish`` or
``subscription``, subject), the subject lower-cased as nats-py reports it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from sensorlab.bus.credential import CREDENTIAL_PATH, Credential
from sensorlab.bus.relay import Opener, Relay, unix_opener
from sensorlab.planner.bus import dm_subject, platform_subject

Handler = Callable[[Msg], Awaitable[None]]
_VIOLATION = re.compile(r'violation for (publish|subscription) to "([^"]+)"', re.IGNORECASE)


def load_credential(path: str = CREDENTIAL_PATH) -> Credential:
    return Credential.from_json(Path(path).read_text(), source=path)


class BusClient:
    def __init__(self, credential: Credential, relay: Relay) -> None:
        self.credential = credential
        self.relay = relay
        self.violations: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.reconnects = 0
        self.nc: Client | None = None

    @property
    def name(self) -> str:
        return self.credential.user

    @classmethod
    async def connect(cls, credential: Credential, opener: Opener | None = None,
                      **options: Any) -> BusClient:
        """Connect as ``credential`` through its socket (or ``opener``), reconnecting forever."""
        relay = await Relay(opener or unix_opener(credential.socket)).start()
        self = cls(credential, relay)

        async def on_error(exc: Exception) -> None:
            match = _VIOLATION.search(str(exc))
            if match:
                self.violations.append((match.group(1).lower(), match.group(2)))
            else:
                self.errors.append(str(exc))

        async def on_reconnect() -> None:
            self.reconnects += 1

        settings: dict[str, Any] = {
            "servers": [relay.url], "user": credential.user, "password": credential.password,
            "inbox_prefix": credential.inbox, "name": credential.user,
            "error_cb": on_error, "reconnected_cb": on_reconnect,
            "max_reconnect_attempts": -1, "reconnect_time_wait": 0.2, "connect_timeout": 5,
        }
        settings.update(options)
        try:
            # Reconnects go on forever, but a first connect that never succeeds must end.
            self.nc = await asyncio.wait_for(nats.connect(**settings), timeout=30)
        except BaseException:
            await relay.close()
            raise
        return self

    @property
    def _nc(self) -> Client:
        assert self.nc is not None, "not connected"
        return self.nc

    async def publish_event(self, subject: str, data: bytes) -> None:
        await self._nc.publish(subject, data)

    async def subscribe(self, subject: str, cb: Handler | None = None) -> Subscription:
        return await self._nc.subscribe(subject, cb=cb)

    async def send_direct(self, recipient: str, data: bytes) -> None:
        await self._nc.publish(dm_subject(recipient, self.name), data)

    async def subscribe_direct(self, cb: Handler | None = None) -> Subscription:
        return await self._nc.subscribe(dm_subject(self.name, ">"), cb=cb)

    async def request_direct(self, recipient: str, data: bytes, timeout: float = 2) -> Msg:
        """A direct message that expects an answer (on this instrument's own inbox)."""
        return await self._nc.request(dm_subject(recipient, self.name), data, timeout=timeout)

    async def status(self, data: bytes) -> None:
        await self._nc.publish(platform_subject(self.name, "status"), data)

    async def request_platform(self, verb: str, data: bytes, timeout: float = 2) -> Msg:
        return await self._nc.request(platform_subject(self.name, f"request.{verb}"), data,
                                      timeout=timeout)

    async def publish(self, subject: str, data: bytes, reply: str = "") -> None:
        """Any subject: for tests of what the server refuses."""
        await self._nc.publish(subject, data, reply=reply)

    async def flush(self, timeout: int = 5) -> None:
        """A round trip; violations of everything sent before are in by the time it returns."""
        await self._nc.flush(timeout=timeout)
        await asyncio.sleep(0.05)  # error_cb runs as its own task after the -ERR is read

    def violated(self, kind: str, subject: str) -> bool:
        # nats-py lower-cases the server's error text, subject included.
        return (kind, subject.lower()) in self.violations

    async def close(self) -> None:
        try:
            if self.nc is not None and not self.nc.is_closed:
                await self.nc.close()
        finally:
            await self.relay.close()
