"""One instrument's bus credential: the file the platform puts into its container.

Stdlib only: the platform (Debian's python3 on the appliance) writes it and
the client library reads it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from sensorlab.errors import SensorlabError

# Inside the instrument's container: root-only (0600, the container's uid 0).
CREDENTIAL_PATH = "/etc/sensorlab/bus.json"


@dataclass(frozen=True)
class Credential:
    user: str
    password: str
    inbox: str  # nats-py inbox_prefix: only this user may read replies there
    socket: str = ""  # unix socket to the bus ("" for the platform: it uses TCP)
    server: str = ""  # host:port, for the platform's own loopback connection

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "<credential>") -> Credential:
        try:
            raw = json.loads(text)
            return cls(user=str(raw["user"]), password=str(raw["password"]),
                       inbox=str(raw["inbox"]), socket=str(raw.get("socket", "")),
                       server=str(raw.get("server", "")))
        except (ValueError, KeyError, TypeError) as exc:
            raise SensorlabError(f"{source}: not a bus credential: {exc!r}") from exc
