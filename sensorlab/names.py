"""The one place that builds names: LXD objects, links, namespaces, nft objects.

Everything sensorlab creates carries the ``sl`` prefix so ``inv clean`` can
find it and nothing else. Linux interface names are capped at 15 bytes
(IFNAMSIZ - 1), so per-instrument links use a short hash of the name.
"""

from __future__ import annotations

import hashlib
import re

PREFIX = "sl"

# --- CI host (outer LXD) ------------------------------------------------------
LXD_PROJECT = "sensorlab"
APPLIANCE = "sl-appliance"
APPLIANCE_IMAGE_ALIAS = "sensorlab/appliance"

# --- lab segments made by the harness -----------------------------------------
# segment name -> network namespace; the lab host's end of the segment lives in
# the namespace, the other end becomes a port of the appliance. "mon" is the
# monitored network, "prot" the protected one (active instruments' bridge),
# "up" the upstream (the Downloader's rule feed), "mgmt" the appliance's own
# management network, which no instrument may reach.
SEGMENTS = ("mon", "prot", "up", "mgmt")
MANAGEMENT_SEGMENT = "mgmt"


def segment_netns(segment: str) -> str:
    return f"{PREFIX}-{segment}"


def segment_lab_veth(segment: str) -> str:
    """The lab host's interface inside the segment namespace."""
    return f"{PREFIX}-{segment}0"


def segment_host_veth(segment: str) -> str:
    """The host end, handed to the appliance as a physical port."""
    return f"{PREFIX}-{segment}-phy"


def appliance_port(segment: str) -> str:
    """The port's name inside the appliance (what a sensor file calls it)."""
    return f"{segment}0"


# --- inside the appliance (inner LXD) -----------------------------------------
NFT_TABLE = "sensorlab"  # family netdev
INNER_IMAGE_DIR = "/var/lib/sensorlab/images"


def instrument_image_file(image: str) -> str:
    """An instrument image's file name, in build/images and on the appliance."""
    return f"{image}.tar.gz"

PLATFORM_STATE_DIR = "/var/lib/sensorlab"
DEPLOY_SPEC_PATH = "/etc/sensorlab/deployment.json"

_LXD_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


def valid_lxd_name(name: str) -> bool:
    """LXD instance names: a letter first, then letters, digits and hyphens."""
    return bool(_LXD_NAME.match(name)) and not name.endswith("-") and "--" not in name


def _short(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:8]


def instrument_container(instrument: str) -> str:
    return f"{PREFIX}-i-{instrument}"


def instrument_image_alias(image: str) -> str:
    return f"sensorlab/{image}"


def mirror_bridge(index: int) -> str:
    return f"{PREFIX}mir{index}"


def instrument_host_veth(instrument: str, nic: str) -> str:
    """Host side of an instrument's veth: where its enforcement is attached."""
    return f"{PREFIX}v{_short(instrument + '/' + nic)}"


def instrument_peer_veth(instrument: str, nic: str) -> str:
    """Container side, before LXD moves it into the instrument and renames it."""
    return f"{PREFIX}c{_short(instrument + '/' + nic)}"


def instrument_mac(instrument: str, nic: str) -> str:
    """A stable, locally administered unicast MAC for an instrument's NIC."""
    digest = hashlib.sha256(f"mac/{instrument}/{nic}".encode()).digest()
    return "02:" + ":".join(f"{b:02x}" for b in digest[:5])


def guard_chain(instrument: str, nic: str) -> str:
    """nft chain that drops everything the instrument transmits on ``nic``."""
    return f"guard_{instrument.replace('-', '_')}_{nic}"


def capco_chain(port: str) -> str:
    """nft chain that mirrors a monitored port into the mirror bridges."""
    return f"capco_{port}"


# --- planner additions: active wiring, storage, bus, UI ----------------------
_LINK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")


def valid_link_name(name: str) -> bool:
    """A Linux interface name the kernel and an nft quoted string both accept."""
    return bool(_LINK_NAME.match(name))


def active_bridge(key: str) -> str:
    """The Linux bridge behind a sensor file's bridge ``key``."""
    return f"{PREFIX}br-{key}"


def filter_chain(instrument: str, nic: str) -> str:
    """nft chain that lets an active NIC send only from its own MAC (and address)."""
    return f"filter_{instrument.replace('-', '_')}_{nic}"


def bridge_isolation_chain(bridge: str) -> str:
    """nft chain that keeps an instrument bridge's frames out of the appliance's stack."""
    return f"isolate_{bridge.replace('-', '_')}"


def instrument_profile(instrument: str) -> str:
    return f"{PREFIX}-p-{instrument}"


# The uid and gid instrument payloads run as inside their container (the
# image's `instrument` user); their volumes are group-writable for it.
INSTRUMENT_UID = 1000

# Storage: host side under the platform's state dir, fixed paths inside.
INSTRUMENT_PERSISTENT_DIR = "/data/persistent"
INSTRUMENT_TRANSIENT_DIR = "/data/transient"


def persistent_image(instrument: str) -> str:
    """The size-capped, encrypted ext4 image file behind the persistent volume."""
    return f"{PLATFORM_STATE_DIR}/storage/{instrument}.img"


def persistent_mount(instrument: str) -> str:
    return f"{PLATFORM_STATE_DIR}/storage/{instrument}"


def transient_mount(instrument: str) -> str:
    return f"/run/sensorlab/transient/{instrument}"


# The persistent image's own filesystem is mounted here; only its encrypted
# ``data`` directory is bound onto ``persistent_mount`` and into the instrument.
VOLUMES_DIR = f"{PLATFORM_STATE_DIR}/volumes"
KEYSTORE_DIR = f"{PLATFORM_STATE_DIR}/keys"  # root-only, never mounted anywhere


def persistent_fs_mount(instrument: str) -> str:
    return f"{VOLUMES_DIR}/{instrument}"


def instrument_key(instrument: str) -> str:
    return f"{KEYSTORE_DIR}/{instrument}.key"


# Bus: the NATS server listens on loopback only; instruments reach it through
# an LXD proxy device that puts a unix socket into the container.
BUS_LISTEN = "127.0.0.1:4222"
BUS_SOCKET = "/run/sensorlab/bus.sock"
PLATFORM_BUS_USER = "platform"
BUS_SECRETS_FILE = "bus-secrets.conf"
# On the appliance: the platform's rendered config, hashes and its own credential.
BUS_CONFIG_DIR = "/etc/sensorlab/nats"
BUS_CONFIG_FILE = "nats.conf"
BUS_PLATFORM_CREDENTIAL = "/etc/sensorlab/nats/platform.json"
BUS_SERVICE = "nats-server"
BUS_TAP_SERVICE = "sensorlab-bus-tap"
BUS_EVENT_LOG = "/var/lib/sensorlab/events/events.jsonl"


def bus_user(instrument: str) -> str:
    return instrument


def bus_password_var(user: str) -> str:
    """The nats.conf variable holding ``user``'s bcrypt hash (defined in BUS_SECRETS_FILE)."""
    return "SL_BUS_" + user.upper().replace("-", "_")


def ui_socket(instrument: str) -> str:
    """Host-side socket the Sensor UI proxies ``/instruments/<name>/`` to."""
    return f"/run/sensorlab/ui/{instrument}.sock"


def ui_route(instrument: str) -> str:
    return f"/instruments/{instrument}/"
