"""A loopback TCP relay to the bus socket, because nats-py has no unix-socket transport.

An instrument's client listens on 127.0.0.1 of its own (NIC-less) network
namespace and forwards each connection to ``/run/sensorlab/bus.sock``, the
LXD proxy into the appliance. The relay adds no rights: the server still
checks the user and password carried inside the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import socket
import threading
from collections.abc import Awaitable, Callable

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]
Opener = Callable[[], Awaitable[Stream]]
_CLONE_NEWNET = 0x40000000


def unix_opener(path: str) -> Opener:
    def open_() -> Awaitable[Stream]:
        return asyncio.open_unix_connection(path)

    return open_


def _connect_in_netns(netns: str, host: str, port: int) -> socket.socket:
    """A TCP socket made inside another network namespace (it stays bound to it).

    setns() switches only the calling thread, so a throwaway thread does it and
    this process's own namespace is never touched.
    """
    result: list[socket.socket | BaseException] = []

    def work() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(netns, os.O_RDONLY)
            try:
                if libc.setns(fd, _CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns({netns})")
            finally:
                os.close(fd)
            result.append(socket.create_connection((host, port), timeout=5))
        except BaseException as exc:  # handed to the caller's thread
            result.append(exc)

    thread = threading.Thread(target=work, name="netns-connect")
    thread.start()
    thread.join()
    if isinstance(result[0], BaseException):
        raise result[0]
    return result[0]


def netns_tcp_opener(netns: str, host: str, port: int) -> Opener:
    """Reach host:port as seen from the namespace ``netns`` (e.g. /proc/PID/ns/net)."""

    async def open_() -> Stream:
        sock = await asyncio.to_thread(_connect_in_netns, netns, host, port)
        sock.setblocking(False)
        return await asyncio.open_connection(sock=sock)

    return open_


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


class Relay:
    """127.0.0.1:<ephemeral> -> whatever ``opener`` connects to, one upstream per client."""

    def __init__(self, opener: Opener) -> None:
        self._opener = opener
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    async def start(self) -> Relay:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await self._opener()
        except OSError:
            writer.close()  # the bus is down (restarting): the client retries
            return
        pumps = [asyncio.create_task(_pump(reader, up_writer)),
                 asyncio.create_task(_pump(up_reader, writer))]
        self._tasks.update(pumps)
        # Closing the relay cancels this handler too; it then just tidies up.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for task in pumps:
            task.cancel()
            self._tasks.discard(task)
        for w in (writer, up_writer):
            with contextlib.suppress(Exception):
                w.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
