"""Persistent data survives an appliance restart byte for byte; transient does not.

After the reboot the platform's boot service re-applies the guards, unlocks
each volume with its key from the keystore and only then starts the
instrument (LXD itself autostarts none). Runs last: it reboots the appliance.
"""

from __future__ import annotations

import time

import pytest

from integration.storage_helpers import appliance, inside, pair, running
from sensorlab import names
from sensorlab.errors import SensorlabError
from sensorlab.run import run
from sensorlab.spec import Deployment

pytestmark = [pytest.mark.integration, pytest.mark.storage]

P, T = names.INSTRUMENT_PERSISTENT_DIR, names.INSTRUMENT_TRANSIENT_DIR
BOOT_TIMEOUT = 300


def _wait_all_running(deployment: Deployment) -> dict[str, str]:
    deadline = time.monotonic() + BOOT_TIMEOUT
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        try:
            done = appliance("systemctl", "is-active", "sensorlab-start", check=False)
            states = running(deployment)
            if done.stdout.strip() in ("active", "failed") and set(states.values()) == {"Running"}:
                return states
        except SensorlabError:
            pass  # the appliance or its LXD is still coming up
        time.sleep(3)
    return states


def test_persistent_is_intact_and_transient_empty_after_an_appliance_restart(
        deployment: Deployment) -> None:
    a, b = pair(deployment)
    digests = {}
    for spec in (a, b):
        inside(spec, f"dd if=/dev/urandom of={P}/reboot.bin bs=64k count=32 2>/dev/null && "
                     f"echo volatile > {T}/reboot && sync")
        digests[spec.name] = inside(spec, f"sha256sum {P}/reboot.bin").stdout.split()[0]
    run(["lxc", "restart", "--project", names.LXD_PROJECT, names.APPLIANCE, "--timeout", "120"],
        timeout=300)
    states = _wait_all_running(deployment)
    assert set(states.values()) == {"Running"}, states
    assert appliance("systemctl", "is-active", "sensorlab-start").stdout.strip() == "active"
    for spec in (a, b):
        assert inside(spec, f"sha256sum {P}/reboot.bin").stdout.split()[0] == digests[spec.name]
        assert inside(spec, f"ls -A {T}").stdout.split() == []
        inside(spec, f"rm -f {P}/reboot.bin")
    # The guards came back before the instruments: the table is loaded again.
    assert appliance("nft", "list", "table", "netdev", names.NFT_TABLE, check=False).returncode == 0
