"""Drive probe.py inside namespaces: sniffers that start before, and stop after, a send."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sensorlab.errors import SensorlabError
from sensorlab.harness.paths import REPO
from sensorlab.run import run


@dataclass(frozen=True)
class Place:
    """A network namespace, named by a path nsenter understands, and an interface in it."""

    label: str
    netns: str  # /run/netns/NAME or /proc/PID/ns/net
    iface: str


def _argv(place: Place, *probe_args: str) -> list[str]:
    return ["nsenter", f"--net={place.netns}", "--", sys.executable,
            "-m", "sensorlab.harness.probe", *probe_args]


def send(place: Place, uuid: str, kinds: list[str], repeat: int = 1,
         addressing: dict[str, str] | None = None) -> dict[str, int]:
    """``addressing``: src_ip, dst_ip, dst_mac overrides for the crafted frames."""
    extra = [arg for key, value in sorted((addressing or {}).items())
             for arg in (f"--{key.replace('_', '-')}", value)]
    proc = run(_argv(place, "send", "--iface", place.iface, "--uuid", uuid,
                     "--kinds", ",".join(kinds), "--repeat", str(repeat), *extra),
               cwd=REPO, timeout=120)
    result: dict[str, int] = json.loads(proc.stdout.strip().splitlines()[-1])["sent"]
    return result


def arp_answered(place: Place, src_ip: str, target: str) -> bool:
    proc = run(_argv(place, "arp-ask", "--iface", place.iface, "--src-ip", src_ip,
                     "--target", target), cwd=REPO, timeout=60)
    return bool(json.loads(proc.stdout.strip().splitlines()[-1])["answered"])


def in_netns(netns: str, *argv: str, timeout: float = 60) -> str:
    """Run a command inside a namespace (root powers there); its stdout."""
    return run(["nsenter", f"--net={netns}", "--", *argv], cwd=REPO, timeout=timeout).stdout


class Sniffers:
    """Capture on several places at once; ``counts()`` stops them and reads their tallies."""

    def __init__(self, places: list[Place], uuid: str) -> None:
        self.places = places
        self._procs: list[subprocess.Popen[str]] = []
        for place in places:
            proc = subprocess.Popen(
                _argv(place, "sniff", "--iface", place.iface, "--uuid", uuid),
                cwd=Path(REPO), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True,
            )
            self._procs.append(proc)
        for place, proc in zip(places, self._procs, strict=True):
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if line != "READY":
                self.stop()
                raise SensorlabError(f"sniffer on {place.label} ({place.iface}) did not start: "
                                     f"{line or (proc.stderr.read() if proc.stderr else '')}")

    def counts(self) -> dict[str, int]:
        tallies: dict[str, int] = {}
        for place, proc in zip(self.places, self._procs, strict=True):
            out, err = proc.communicate(input="", timeout=60)
            if proc.returncode != 0:
                raise SensorlabError(f"sniffer on {place.label} failed: {err.strip()}")
            tallies[place.label] = int(json.loads(out.strip().splitlines()[-1])["count"])
        return tallies

    def stop(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
