"""The Downloader handoff: files fetched upstream reach the instrument that asked.

An instrument asks in its sensor-file settings::

    settings:
      fetch:
        ids.rules: http://198.18.2.1:8080/ids.rules

The Downloader (the one instrument holding a whole ``phy`` port, the
upstream) fetches on its own schedule into its own storage. This service
tells it what to fetch and copies each fetched file, through the appliance's
LXD file API, into the asking instrument's inbox. No filesystem is shared and
the consumer needs no network at all. A file-based request is used rather
than the bus's ``sensorlab.platform.<i>.request.>`` subjects so this works
with no bus client in either instrument; the request format is the same
data either way.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sensorlab import log
from sensorlab.errors import SensorlabError
from sensorlab.names import PLATFORM_STATE_DIR
from sensorlab.spec import Deployment, InstrumentSpec

FETCH_LIST = "/etc/sensorlab/fetch.list"  # in the Downloader: "<key> <url>" per line
FETCHED_DIR = "/data/persistent/fetched"  # in the Downloader: its own storage
INBOX_DIR = "/var/lib/sensorlab/inbox"  # in the consumer: what it was handed
STATE_DIR = Path(PLATFORM_STATE_DIR) / "handoff"  # on the appliance: what was handed
INSTRUMENT_UID = 1000

_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_URL = re.compile(r"^http://[A-Za-z0-9.:\[\]-]+(/[A-Za-z0-9._~/%-]*)?$")


@dataclass(frozen=True)
class Fetch:
    consumer: str
    name: str  # file name in the consumer's inbox
    url: str

    @property
    def key(self) -> str:
        """Where the Downloader keeps it, relative to FETCHED_DIR."""
        return f"{self.consumer}/{self.name}"


def downloader(deployment: Deployment) -> InstrumentSpec | None:
    """The instrument with the upstream port; the planner allows one per port."""
    holders = [spec for spec in deployment.instruments if spec.physical_nics]
    return holders[0] if holders else None


def requests(deployment: Deployment) -> tuple[Fetch, ...]:
    """Every fetch request in the deployment's settings. Pure."""
    found: list[Fetch] = []
    for spec in deployment.instruments:
        wanted = json.loads(spec.settings or "{}").get("fetch", {})
        if not isinstance(wanted, dict):
            raise SensorlabError(f"instrument {spec.name}: settings.fetch must map "
                                 "file names to URLs")
        for name, url in sorted(wanted.items()):
            # The line format and the paths on both sides rely on these shapes.
            if not _FILE.match(str(name)) or not isinstance(url, str) or not _URL.match(url):
                raise SensorlabError(
                    f"instrument {spec.name}: bad fetch request {name!r}: {url!r}",
                    hint="a plain file name and an http:// URL without spaces or a query")
            found.append(Fetch(spec.name, str(name), url))
    if found and downloader(deployment) is None:
        raise SensorlabError("instruments ask for downloads but no Downloader is deployed",
                             hint="add an instrument with a phy interface on ports.upstream")
    return tuple(found)


def fetch_list(fetches: tuple[Fetch, ...]) -> str:
    """What the Downloader reads each round. Pure."""
    return "".join(f"{f.key} {f.url}\n" for f in sorted(fetches, key=lambda f: f.key))


def run_once(deployment: Deployment) -> list[str]:
    """Tell the Downloader what to fetch; hand over what changed. Returns handed keys."""
    from sensorlab.platform import instances

    fetches = requests(deployment)
    holder = downloader(deployment)
    if holder is None:
        return []
    lxd = instances.client()
    source = lxd.containers.get(holder.container)
    _put(source, FETCH_LIST, fetch_list(fetches).encode(), mode="0644", uid=0)
    handed: list[str] = []
    for fetch in fetches:
        data = _get(source, f"{FETCHED_DIR}/{fetch.key}")
        if data is None:
            continue
        digest = hashlib.sha256(data).hexdigest()
        record = STATE_DIR / fetch.consumer / f"{fetch.name}.sha256"
        if record.is_file() and record.read_text() == digest:
            continue
        target = lxd.containers.get(deployment.instrument(fetch.consumer).container)
        _put(target, f"{INBOX_DIR}/{fetch.name}", data, mode="0644", uid=INSTRUMENT_UID)
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(digest)
        log.info(f"handed {fetch.key} ({len(data)} bytes, sha256 {digest[:12]})")
        handed.append(fetch.key)
    return handed


def _get(container: Any, path: str) -> bytes | None:
    from pylxd.exceptions import NotFound

    try:
        data: bytes = container.files.get(path)
        return data
    except NotFound:
        return None


def _put(container: Any, path: str, data: bytes, mode: str, uid: int) -> None:
    folder = path.rsplit("/", 1)[0]
    parts = folder.strip("/").split("/")
    for depth in range(1, len(parts) + 1):
        # The file API creates one level at a time; an existing folder is fine.
        container.api.files.post(params={"path": "/" + "/".join(parts[:depth])}, data=b"",
                                 headers={"X-LXD-type": "directory", "X-LXD-mode": "0755",
                                          "X-LXD-uid": "0", "X-LXD-gid": "0"})
    container.files.put(path, data, mode=mode, uid=uid, gid=uid)
