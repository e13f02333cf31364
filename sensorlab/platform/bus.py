"""The appliance's NATS server: its config from the plan and one secret per user.

Passwords are made here, at deploy, and never leave the appliance except the
instrument's own, which goes only into that instrument's container. The
server gets bcrypt hashes; the platform keeps its own plain credential in a
root-only file for its tap and commands.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from sensorlab import names
from sensorlab.bus.credential import CREDENTIAL_PATH, Credential
from sensorlab.errors import SensorlabError
from sensorlab.planner.bus import inbox_prefix, platform_access
from sensorlab.planner.render_nats import render_nats, render_secrets, users
from sensorlab.run import run
from sensorlab.spec import Deployment

CONF_DIR = Path(names.BUS_CONFIG_DIR)
_SECRET_LINE = re.compile(r'^(SL_BUS_[A-Z0-9_]+): "(.*)"$')
# The images' entrypoint user (sensorlab.images.apk.skeleton): the credential
# is its alone. Root inside the container could read it anyway.
INSTRUMENT_UID = 1000
BCRYPT_ROUNDS = 10  # checked by the server on every connect; 10 is ~50 ms


# --- pure -----------------------------------------------------------------------
def parse_secrets(text: str) -> dict[str, str]:
    """bus-secrets.conf back into variable -> hash (the inverse of render_secrets)."""
    found = {}
    for line in text.splitlines():
        match = _SECRET_LINE.match(line.strip())
        if match:
            found[match.group(1)] = match.group(2)
    return found


@dataclass(frozen=True)
class Secrets:
    hashes: Mapping[str, str]  # user -> bcrypt hash, for every user of the plan
    deliver: Mapping[str, Credential]  # instrument -> new credential for its container
    platform: Credential | None  # the platform's new credential, None if kept


def plan_secrets(deployment: Deployment, previous: Mapping[str, str], keep: frozenset[str],
                 platform_kept: bool, password: Callable[[], str],
                 hash_password: Callable[[str], str]) -> Secrets:
    """Fresh passwords for everyone, except running instruments (and the platform)
    whose credential is already in place: a redeploy must not lock them out."""
    hashes: dict[str, str] = {}
    deliver: dict[str, Credential] = {}
    platform: Credential | None = None
    for access in users(deployment):
        var = names.bus_password_var(access.user)
        is_platform = access.user == names.PLATFORM_BUS_USER
        kept = platform_kept if is_platform else access.user in keep
        if kept and var in previous:
            hashes[access.user] = previous[var]
            continue
        plain = password()
        hashes[access.user] = hash_password(plain)
        if is_platform:
            platform = Credential(user=access.user, password=plain,
                                  inbox=platform_access().inbox, server=names.BUS_LISTEN)
        else:
            instrument = next(i for i in deployment.instruments if i.bus.user == access.user)
            deliver[instrument.name] = Credential(
                user=access.user, password=plain,
                inbox=instrument.bus.inbox or inbox_prefix(instrument.name),
                socket=names.BUS_SOCKET)
    return Secrets(hashes=hashes, deliver=deliver, platform=platform)


# --- on the appliance --------------------------------------------------------------
def _bcrypt(plain: str) -> str:
    import bcrypt  # Debian's python3-bcrypt, on the appliance only

    hashed: bytes = bcrypt.hashpw(plain.encode(), bcrypt.gensalt(rounds=BCRYPT_ROUNDS))
    return hashed.decode()


def _write(path: Path, text: str, mode: int, group: str | None = None) -> None:
    """Write atomically with the final mode from the start: a secret is never world-readable."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    if group is not None:
        import grp

        os.chown(tmp, 0, grp.getgrnam(group).gr_gid)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _snapshot() -> dict[str, str | None]:
    files = [CONF_DIR / names.BUS_CONFIG_FILE, CONF_DIR / names.BUS_SECRETS_FILE,
             Path(names.BUS_PLATFORM_CREDENTIAL)]
    return {str(p): p.read_text() if p.is_file() else None for p in files}


def _restore(snapshot: Mapping[str, str | None]) -> None:
    for path, text in snapshot.items():
        if text is None:
            Path(path).unlink(missing_ok=True)
        elif path == names.BUS_PLATFORM_CREDENTIAL:
            _write(Path(path), text, 0o600)
        else:
            _write(Path(path), text, 0o640, "nats")
    if snapshot[str(CONF_DIR / names.BUS_CONFIG_FILE)] is None:
        run(["systemctl", "stop", names.BUS_TAP_SERVICE, names.BUS_SERVICE], check=False)
    else:
        restart_services()


def wait_listening(timeout: float = 15) -> None:
    host, port = names.BUS_LISTEN.rsplit(":", 1)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=1):
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise SensorlabError(
                    f"the bus did not come up on {names.BUS_LISTEN}: {exc}",
                    hint="see `journalctl -u nats-server` in the appliance") from exc
            time.sleep(0.2)


def restart_services() -> None:
    # reload keeps clients connected when only users or rights changed.
    # Right after a restart systemd may not know the new MAINPID yet, and the
    # reload's control process fails ("invalid pid", seen once in a storage
    # fault run); systemctl then says the control process exited. Try again.
    run(["systemctl", "reload-or-restart", names.BUS_SERVICE],
        retry_if="control process exited")
    wait_listening()
    run(["systemctl", "restart", names.BUS_TAP_SERVICE])


def configure(deployment: Deployment, running: frozenset[str],
              push_undo: Callable[[str, Callable[[], object]], None]) -> Mapping[str, Credential]:
    """Write nats.conf, the hashes and the platform's credential; (re)load the server.

    Returns the credentials to deliver, one per instrument that needs a new one.
    """
    before = _snapshot()
    secrets_file = CONF_DIR / names.BUS_SECRETS_FILE
    previous = parse_secrets(secrets_file.read_text()) if secrets_file.is_file() else {}
    platform_file = Path(names.BUS_PLATFORM_CREDENTIAL)
    plan = plan_secrets(deployment, previous, running, platform_file.is_file(),
                        lambda: secrets.token_urlsafe(24), _bcrypt)
    CONF_DIR.mkdir(parents=True, exist_ok=True)
    push_undo("bus configuration", partial(_restore, before))
    # The server runs as user nats: it reads the config through its group.
    _write(secrets_file, render_secrets(plan.hashes), 0o640, "nats")
    _write(CONF_DIR / names.BUS_CONFIG_FILE, render_nats(deployment), 0o640, "nats")
    if plan.platform is not None:
        _write(platform_file, plan.platform.to_json(), 0o600)
    run(["nats-server", "-t", "-c", CONF_DIR / names.BUS_CONFIG_FILE],
        hint="the rendered nats.conf does not load; plan the sensor with `inv plan` to see it")
    restart_services()
    return plan.deliver


def platform_credential() -> Credential:
    path = Path(names.BUS_PLATFORM_CREDENTIAL)
    if not path.is_file():
        raise SensorlabError("the platform has no bus credential yet",
                             hint="run `sensorlab-platform deploy` first")
    return Credential.from_json(path.read_text(), source=str(path))


def deliver(container: Any, credential: Credential) -> None:
    """Into a created, not yet started container: the socket's folder and the credential.

    The file is the instrument user's alone (0600, inside the container's own
    isolated idmap), so no other instrument's uid can map onto it.
    """
    for folder in (os.path.dirname(names.BUS_SOCKET), os.path.dirname(CREDENTIAL_PATH)):
        container.api.files.post(params={"path": folder}, data=b"",
                                 headers={"X-LXD-type": "directory", "X-LXD-mode": "0755",
                                          "X-LXD-uid": "0", "X-LXD-gid": "0"})
    container.files.put(CREDENTIAL_PATH, credential.to_json().encode(), mode="0600",
                        uid=INSTRUMENT_UID, gid=INSTRUMENT_UID)
