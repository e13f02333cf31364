"""The Downloader is the only way out, and the IDS gets its rules through it.

The upstream segment's lab host serves a rule feed (python's http.server,
bound to its lab address, for the test's duration only). The IDS is passive:
it has no interface that can send, yet the rule file it asked for in its
settings arrives in its inbox, copied by the platform's handoff service.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration import netlab
from sensorlab import names
from sensorlab.harness import labnet, lxdhost, topology
from sensorlab.platform import handoff
from sensorlab.spec import Deployment, NetworkMode

pytestmark = [pytest.mark.integration, pytest.mark.network]

FEED_SECONDS = 300  # the feed stops by itself even if the test run dies
ARRIVAL_SECONDS = 60


@pytest.fixture
def rule_feed(tmp_path: Path) -> Iterator[Path]:
    netns = topology.segment("up").netns
    proc = subprocess.Popen(
        ["nsenter", f"--net={netns}", "--", "timeout", str(FEED_SECONDS), sys.executable,
         "-m", "http.server", "--bind", labnet.ip(labnet.LAB_HOST["up"]),
         "--directory", str(tmp_path), str(labnet.RULE_FEED_PORT)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield tmp_path
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_only_the_downloader_holds_the_upstream(deployment: Deployment) -> None:
    holder = handoff.downloader(deployment)
    assert holder is not None and holder.network is NetworkMode.ACTIVE
    holders = [i.name for i in deployment.instruments if i.physical_nics]
    assert holders == [holder.name]
    assert [n.port for n in holder.physical_nics] == [names.appliance_port("up")]


def test_ids_receives_its_rules_through_the_downloader(deployment: Deployment,
                                                        rule_feed: Path, tag: str) -> None:
    fetches = handoff.requests(deployment)
    assert fetches, "the lab sensor must have an instrument asking for a download"
    fetch = fetches[0]
    consumer = deployment.instrument(fetch.consumer)
    # The consumer cannot send: passive, every NIC guarded, nothing else.
    assert consumer.network is NetworkMode.PASSIVE
    assert not consumer.bridged_nics and not consumer.physical_nics
    loaded = netlab.counters()
    assert all(nic.guard_chain in loaded for nic in consumer.nics)
    assert fetch.url.startswith(labnet.RULE_FEED_URL)
    (rule_feed / fetch.url.removeprefix(labnet.RULE_FEED_URL)).write_text(
        f'alert any any -> any any (msg:"{tag}"; sid:1;)\n')
    deadline = time.monotonic() + ARRIVAL_SECONDS
    got = ""
    while time.monotonic() < deadline:
        proc = lxdhost.exec_in_appliance(
            "lxc", "exec", consumer.container, "--", "cat",
            f"{handoff.INBOX_DIR}/{fetch.name}", check=False)
        got = proc.stdout
        if tag in got:
            break
        time.sleep(2)
    assert tag in got, f"{fetch.name} did not reach {consumer.name} in {ARRIVAL_SECONDS}s"
