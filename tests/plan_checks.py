"""External checks of a plan: ``nft -c -f`` and ``nats-server -t -c``.

Missing tools skip on a laptop but fail under CI=true (a skipped isolation
check in CI would be a silent pass).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from sensorlab.planner.render_nats import placeholder_secrets
from sensorlab.run import find_binary
from sensorlab.spec import Deployment


def need(tool: str) -> str:
    found = find_binary(tool) or (Path("/usr/sbin") / tool if (Path("/usr/sbin") / tool).is_file()
                                  else None)
    if found is None:
        message = f"{tool} is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return str(found)


def _devices(ruleset: str) -> list[str]:
    # Devices are the quoted names after `device`, `dup to` and `fwd to`
    # (rule comments are quoted too).
    return sorted(set(re.findall(r'(?:device|to) "([^"]+)"', ruleset)))


def check_nft(ruleset: str) -> None:
    """``nft -c`` in a fresh network namespace holding every device the ruleset names.

    ``dup``/``fwd to`` resolve their target at load time, so the devices must
    exist; a private netns lets us create them without touching the host.
    """
    nft, unshare = need("nft"), need("unshare")
    script = "set -e\n" + "".join(
        f"ip link add {name} type bridge\n" for name in _devices(ruleset)
    ) + f"{nft} -c -f -\n"
    proc = subprocess.run([unshare, "-n", "sh", "-c", script], input=ruleset, text=True,
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, f"nft -c failed:\n{proc.stderr}\n{ruleset}"


def check_nats(conf: str, deployment: Deployment) -> None:
    server = need("nats-server")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "nats.conf"
        path.write_text(conf)
        (Path(tmp) / "bus-secrets.conf").write_text(placeholder_secrets(deployment))
        proc = subprocess.run([server, "-t", "-c", str(path)], capture_output=True, text=True,
                              timeout=60)
    assert proc.returncode == 0, f"nats-server -t failed:\n{proc.stderr}\n{conf}"
