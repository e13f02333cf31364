"""Faults: bad input and a dead daemon give one clear line; a failed deploy rolls back."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from sensorlab import names
from sensorlab.harness import lxdhost
from sensorlab.harness.paths import REPO
from sensorlab.spec import Deployment, Limits, MirrorNic, NetworkMode

pytestmark = [pytest.mark.integration]


def inv(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "invoke", *args], cwd=REPO, text=True,
                          capture_output=True, env={**os.environ, **(env or {})}, timeout=300)


@pytest.mark.parametrize("task", ["doctor", "deploy"])
def test_unreachable_lxd_gives_one_line_and_a_hint(task: str) -> None:
    # pylxd and the lxc client both find the daemon through LXD_DIR.
    proc = inv(task, env={"LXD_DIR": "/nonexistent-lxd"})
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "LXD is not reachable" in proc.stdout + proc.stderr
    assert "hint:" in proc.stdout + proc.stderr


def test_bad_sensor_file_is_named_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "sensor.yaml"
    bad.write_text("- just\n- a list\n")
    proc = inv("deploy", "--sensor", str(bad))
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert str(bad) in proc.stderr


def _ruleset_without_counters() -> str:
    text = lxdhost.exec_in_appliance("nft", "list", "table", "netdev", names.NFT_TABLE).stdout
    return "\n".join(line.split("counter")[0] for line in text.splitlines())


def _links() -> set[str]:
    out = lxdhost.exec_in_appliance("ip", "-o", "link").stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}


def test_failed_platform_deploy_rolls_back_and_keeps_running_instruments_guarded(
    deployment: Deployment,
) -> None:
    bridge = "slmir9"
    # A passive instrument's copy with its own name and bus user (NATS refuses
    # duplicate users, which would fail the deploy before LXD is asked).
    passive = next(i for i in deployment.instruments if i.network is NetworkMode.PASSIVE)
    broken = dataclasses.replace(
        passive,
        name="broken", container=names.instrument_container("broken"),
        bus=dataclasses.replace(passive.bus, user=names.bus_user("broken")),
        # LXD refuses this limit when the container is created: a mid-deploy failure.
        limits=Limits(memory="a-lot"),
        nics=(MirrorNic(name="eth0", bridge=bridge,
                        host_veth=names.instrument_host_veth("broken", "eth0"),
                        peer_veth=names.instrument_peer_veth("broken", "eth0"),
                        mac=names.instrument_mac("broken", "eth0"),
                        guard_chain=names.guard_chain("broken", "eth0")),),
    )
    bad = dataclasses.replace(deployment, instruments=(*deployment.instruments, broken),
                              mirror_bridges=(*deployment.mirror_bridges, bridge))
    rules_before, links_before = _ruleset_without_counters(), _links()
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "bad.json"
        spec.write_text(bad.to_json())
        lxdhost.push_to_appliance(spec, "/tmp/bad-deployment.json")
    proc = lxdhost.exec_in_appliance("sensorlab-platform", "deploy", "/tmp/bad-deployment.json",
                                     check=False)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("sensorlab: error:")]
    assert len(errors) == 1 and "instrument broken" in errors[0]
    assert "Traceback" not in proc.stderr
    assert _ruleset_without_counters() == rules_before
    assert _links() == links_before
    listed = lxdhost.exec_in_appliance("lxc", "list", "--format=csv", "-c", "n").stdout
    assert names.instrument_container("broken") not in listed.split()
    for spec_ in deployment.instruments:
        assert spec_.container in listed.split()
