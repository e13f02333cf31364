"""The one subprocess wrapper. Every external command goes through ``run``."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from sensorlab.errors import SensorlabError

# Hints for tools that are commonly missing on a fresh CI VM.
_INSTALL_HINTS = {
    "lxc": "run ci/bootstrap (installs lxd and lxd-client)",
    "lxd": "run ci/bootstrap (installs lxd and lxd-client)",
    "nft": "apt-get install nftables",
    "debootstrap": "apt-get install debootstrap",
    "fscrypt": "apt-get install fscrypt",
    "nats-server": "apt-get install nats-server",
    "nsenter": "apt-get install util-linux",
    "ip": "apt-get install iproute2",
}


def find_binary(name: str) -> Path | None:
    found = shutil.which(name)
    return Path(found) if found else None


def run(
    cmd: Sequence[str | Path],
    *,
    check: bool = True,
    input: bytes | str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
    capture: bool = True,
    hint: str | None = None,
    retry_if: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; on failure raise SensorlabError naming the exact command.

    Output is captured as text unless ``capture`` is False (then it streams to
    the terminal, which long steps such as debootstrap want). A failure whose
    stderr holds ``retry_if`` is a known transient one: it is tried again,
    up to three times in all.
    """
    argv = [str(part) for part in cmd]
    if find_binary(argv[0]) is None and not Path(argv[0]).is_file():
        raise SensorlabError(
            f"command not found: {argv[0]}", hint=_INSTALL_HINTS.get(argv[0], hint)
        )
    text_input = input.decode() if isinstance(input, bytes) else input
    for attempt in range(1, 4):
        try:
            proc = subprocess.run(
                argv,
                input=text_input,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                timeout=timeout,
                text=True,
                stdout=subprocess.PIPE if capture else None,
                stderr=subprocess.PIPE if capture else None,
            )
        except subprocess.TimeoutExpired as exc:
            raise SensorlabError(
                f"command timed out after {timeout}s: {shlex.join(argv)}", hint=hint
            ) from exc
        transient = retry_if is not None and retry_if in (proc.stderr or "")
        if proc.returncode == 0 or not transient or attempt == 3:
            break
        time.sleep(attempt)
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout or "").strip().splitlines()
        tail = f": {detail[-1]}" if detail else ""
        raise SensorlabError(
            f"command failed (exit {proc.returncode}): {shlex.join(argv)}{tail}", hint=hint
        )
    return proc
