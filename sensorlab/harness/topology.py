"""Where the test tools attach: namespace paths of segments, the appliance and instruments."""

from __future__ import annotations

from pathlib import Path

from sensorlab import names
from sensorlab.errors import SensorlabError
from sensorlab.harness import lxdhost
from sensorlab.harness.nsprobe import Place


def segment(segment_name: str) -> Place:
    return Place(label=f"segment {segment_name}",
                 netns=f"/run/netns/{names.segment_netns(segment_name)}",
                 iface=names.segment_lab_veth(segment_name))


def appliance(iface: str) -> Place:
    return Place(label=f"appliance {iface}",
                 netns=f"/proc/{lxdhost.appliance_pid()}/ns/net", iface=iface)


def host_pid(nested_pid: int, appliance_pid: int, proc: Path = Path("/proc")) -> int:
    """The CI host's pid for a process the appliance knows as ``nested_pid``.

    The instrument runs two pid namespaces down (host > appliance > instrument);
    each process's NSpid line lists its pid in every namespace, outermost first.
    """
    for status in proc.glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue  # the process exited while we looked
        for line in text.splitlines():
            if line.startswith("NSpid:"):
                pids = [int(p) for p in line.split()[1:]]
                if len(pids) >= 2 and pids[1] == nested_pid and pids[0] != appliance_pid:
                    return pids[0]
    raise SensorlabError(f"no host process is pid {nested_pid} in the appliance")


def instrument(pid_in_appliance: int, iface: str, label: str) -> Place:
    pid = host_pid(pid_in_appliance, lxdhost.appliance_pid())
    return Place(label=label, netns=f"/proc/{pid}/ns/net", iface=iface)
