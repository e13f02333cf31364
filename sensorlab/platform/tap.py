"""The platform's event tap: every instrument event, kept on the appliance for the Sensor.

Runs as ``sensorlab-bus-tap.service`` (``sensorlab-platform tap``) with the
platform's own bus user. Events go to a JSON-lines file that is rotated at a
fixed size, so a chatty instrument cannot fill the appliance's disk.
"""

from __future__ import annotations

import base64
import json
import time
from collections import deque
from pathlib import Path

from sensorlab import log, names
from sensorlab.errors import SensorlabError
from sensorlab.planner.bus import RESERVED_ROOTS, allowed
from sensorlab.platform import natsproto
from sensorlab.platform.bus import platform_credential
from sensorlab.spec import Deployment

MAX_LOG_BYTES = 4 << 20  # then events.jsonl becomes events.jsonl.1 (one generation kept)


def event_patterns(deployment: Deployment) -> dict[str, str]:
    """Event subject pattern -> the instrument that may publish it. Pure."""
    return {
        pattern: spec.name
        for spec in deployment.instruments
        for pattern in spec.bus.publish
        if pattern.split(".")[0] not in RESERVED_ROOTS
    }


def record(message: natsproto.Message, owners: dict[str, str], now: float) -> str:
    """One JSON line for an event. Pure."""
    sender = next((name for pattern, name in owners.items() if allowed([pattern],
                                                                       message.subject)), "")
    try:
        data: str = message.data.decode()
        encoding = "utf-8"
    except UnicodeDecodeError:
        data, encoding = base64.b64encode(message.data).decode(), "base64"
    return json.dumps({"time": round(now, 3), "subject": message.subject, "sender": sender,
                       "data": data, "encoding": encoding}, sort_keys=True) + "\n"


def _append(path: Path, line: str) -> None:
    if path.exists() and path.stat().st_size + len(line) > MAX_LOG_BYTES:
        path.replace(path.with_name(path.name + ".1"))
    with path.open("a") as handle:
        handle.write(line)


def run_tap(deployment: Deployment, log_path: Path = Path(names.BUS_EVENT_LOG)) -> None:
    """Forever: connect, subscribe to every event subject, append. Reconnects after a restart."""
    owners = event_patterns(deployment)
    log_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    while True:
        try:
            conn = natsproto.Connection(platform_credential(), name="sensorlab-tap")
            for pattern in sorted(owners):
                conn.subscribe(pattern)
            conn.flush()
            conn.settimeout(None)
            log.info(f"tap: recording {len(owners)} event subject(s) to {log_path}")
            while True:
                _append(log_path, record(conn.next_message(), owners, time.time()))
        except (OSError, ConnectionError, SensorlabError) as exc:
            log.warn(f"tap: {exc}; reconnecting")
            time.sleep(1)


def last_events(count: int, log_path: Path = Path(names.BUS_EVENT_LOG)) -> list[str]:
    lines: deque[str] = deque(maxlen=count)
    for path in (log_path.with_name(log_path.name + ".1"), log_path):
        if path.is_file():
            lines.extend(path.read_text().splitlines())
    return list(lines)
