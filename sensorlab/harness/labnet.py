"""The lab address plan, in one place: every address is in 198.18.0.0/15.

Only the lab hosts' own ends of the segments carry addresses, each on-link
in its segment's /24; no namespace gets a route beyond that, let alone a
default route, so nothing can route off the machine.
"""

from __future__ import annotations

from sensorlab import names

# segment -> the lab host's address inside the segment namespace ("" = L2 only).
LAB_HOST = {
    "mon": "",  # monitored: probes are crafted at layer 2 (probe.py's 198.18.0.x)
    "prot": "198.18.1.10/24",
    "up": "198.18.2.1/24",
    "mgmt": "198.18.3.10/24",
}
# The appliance's own address on its management port: what the platform and
# the Sensor UI would serve on. No instrument may reach it.
APPLIANCE_MGMT = "198.18.3.1/24"
# sensors/lab.yaml's instruments (kept in step with it by a unit test).
ACTIVE_WEB = "198.18.1.20/24"
DOWNLOADER = "198.18.2.20/24"
RULE_FEED_PORT = 8080
RULE_FEED_URL = f"http://{LAB_HOST['up'].split('/')[0]}:{RULE_FEED_PORT}/"


def ip(cidr: str) -> str:
    return cidr.split("/")[0]


def lab_host_address(segment: str) -> str:
    if segment not in LAB_HOST or segment not in names.SEGMENTS:
        raise KeyError(segment)
    return LAB_HOST[segment]
