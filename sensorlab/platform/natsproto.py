"""Just enough of the NATS client protocol for the platform, in the stdlib.

Debian has no python3 NATS client, and the platform only needs to connect,
subscribe, publish and read messages, so it speaks the text protocol itself.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass

from sensorlab.bus.credential import Credential
from sensorlab.errors import SensorlabError


@dataclass(frozen=True)
class Message:
    subject: str
    reply: str
    data: bytes


class Connection:
    def __init__(self, credential: Credential, name: str, timeout: float = 5) -> None:
        host, port = credential.server.rsplit(":", 1)
        self._sock = socket.create_connection((host, int(port)), timeout=timeout)
        self._file = self._sock.makefile("rb")
        self._sids = 0
        info = self._line()
        if not info.startswith("INFO "):
            raise SensorlabError(f"not a NATS server at {credential.server}: {info[:60]!r}")
        connect = {"user": credential.user, "pass": credential.password, "name": name,
                   "verbose": False, "pedantic": False, "lang": "python-stdlib",
                   "version": "0", "protocol": 1}
        self._send(f"CONNECT {json.dumps(connect)}\r\nPING\r\n".encode())
        reply = self._line()
        if reply != "PONG":
            raise SensorlabError(f"the bus refused the platform: {reply}")

    def _send(self, data: bytes) -> None:
        self._sock.sendall(data)

    def _line(self) -> str:
        line = self._file.readline()
        if not line:
            raise ConnectionError("the bus closed the connection")
        return line.decode().rstrip("\r\n")

    def settimeout(self, timeout: float | None) -> None:
        self._sock.settimeout(timeout)

    def subscribe(self, subject: str) -> None:
        self._sids += 1
        self._send(f"SUB {subject} {self._sids}\r\n".encode())

    def publish(self, subject: str, data: bytes) -> None:
        self._send(f"PUB {subject} {len(data)}\r\n".encode() + data + b"\r\n")

    def flush(self) -> None:
        """Round trip: the server has processed everything sent before; errors surface here."""
        self._send(b"PING\r\n")
        while True:
            line = self._line()
            if line == "PONG":
                return
            if line == "PING":  # the server's own keepalive, due 2 s after connect
                self._send(b"PONG\r\n")
            elif line.startswith("-ERR"):
                raise SensorlabError(f"the bus refused: {line}")

    def next_message(self) -> Message:
        """Block until a message arrives; answers the server's pings meanwhile."""
        while True:
            line = self._line()
            if line == "PING":
                self._send(b"PONG\r\n")
            elif line.startswith("MSG "):
                parts = line.split(" ")
                subject, size = parts[1], int(parts[-1])
                reply = parts[3] if len(parts) == 5 else ""
                data = self._file.read(size + 2)[:size]
                return Message(subject, reply, data)
            elif line.startswith("-ERR"):
                raise ConnectionError(f"the bus reported: {line}")

    def close(self) -> None:
        self._file.close()
        self._sock.close()
