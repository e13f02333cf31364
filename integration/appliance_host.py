"""testinfra access to the appliance, whose container lives in the sensorlab project."""

from __future__ import annotations

from typing import Any

import testinfra.host
from testinfra.backend.lxc import LxcBackend

from sensorlab import names


class ProjectLxcBackend(LxcBackend):  # type: ignore[misc]
    """testinfra's lxc backend, plus the ``--project`` its URL form cannot carry."""

    def run(self, command: str, *args: str, **kwargs: Any) -> Any:
        cmd = self.get_command(command, *args)
        out = self.run_local("lxc exec --project %s %s --mode=non-interactive -- /bin/sh -c %s",
                             names.LXD_PROJECT, self.name, cmd)
        out.command = self.encode(cmd)
        return out


def appliance() -> Any:
    return testinfra.host.Host(ProjectLxcBackend(names.APPLIANCE))
