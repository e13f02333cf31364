"""The few files that make an assembled rootfs boot as an LXD container.

LXD starts ``/sbin/init``; here that is busybox init (an applet link), not
OpenRC. ``/etc/inittab`` runs ``/etc/init.d/rcS`` once (loopback up; LXD
configures every other interface from outside) and then keeps the recipe's
entrypoint running as the recipe's user through ``/etc/init.d/entrypoint``.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from sensorlab.images.apk.install import Node, Rootfs

ROOT_PASSWD = ("root:x:0:0:root:/root:/bin/sh", "nobody:x:65534:65534:nobody:/:/sbin/nologin")
ROOT_GROUP = ("root:x:0:root", "nogroup:x:65534:")


@dataclass(frozen=True)
class InitSpec:
    name: str
    entrypoint: tuple[str, ...] = ()
    user: str = "root"
    uid: int = 1000


INITTAB = """\
# sensorlab: busybox init, no OpenRC (see docs/images.md).
::sysinit:/etc/init.d/rcS
{respawn}::shutdown:/bin/sync
"""

RCS = """\
#!/bin/sh
# sensorlab: loopback only; LXD sets up every other interface from outside.
ip link set lo up
"""

ENTRYPOINT = """\
#!/bin/sh
# sensorlab: run the image's entrypoint as {user}; busybox init respawns this
# script, and the pause keeps a crashing entrypoint from spinning.
cd {home}
{command}
echo "entrypoint exited with status $?" >&2
sleep 1
"""


def _home(spec: InitSpec) -> str:
    return "/root" if spec.user == "root" else f"/home/{spec.user}"


def _merge_lines(existing: Node | None, lines: Sequence[str]) -> bytes:
    """Keep a packaged passwd/group file and add our entries by name."""
    text = existing.data.decode() if existing is not None else ""
    have = {line.split(":", 1)[0] for line in text.splitlines() if line}
    extra = [line for line in lines if line.split(":", 1)[0] not in have]
    if text and not text.endswith("\n"):
        text += "\n"
    return (text + "".join(f"{line}\n" for line in extra)).encode()


def entrypoint_script(spec: InitSpec) -> str:
    command = shlex.join(spec.entrypoint)
    if spec.user != "root":
        command = f"exec su -s /bin/sh {shlex.quote(spec.user)} -c {shlex.quote(command)}"
    return ENTRYPOINT.format(user=spec.user, home=_home(spec), command=command)


def skeleton(rootfs: Rootfs, spec: InitSpec) -> Rootfs:
    """``rootfs`` plus mount points, users, init files and identity files."""
    dirs = {"bin": 0o755, "dev": 0o755, "etc": 0o755, "etc/init.d": 0o755, "home": 0o755,
            "lib": 0o755, "proc": 0o755, "root": 0o700, "run": 0o755, "sbin": 0o755,
            "sys": 0o755, "tmp": 0o1777, "usr": 0o755, "var": 0o755, "var/log": 0o755,
            "var/tmp": 0o1777}
    nodes = [Node(path, "dir", mode) for path, mode in sorted(dirs.items())
             if rootfs.get(path) is None]
    passwd, group = list(ROOT_PASSWD), list(ROOT_GROUP)
    if spec.user != "root":
        home = _home(spec)
        passwd.append(f"{spec.user}:x:{spec.uid}:{spec.uid}:{spec.user}:{home}:/bin/sh")
        group.append(f"{spec.user}:x:{spec.uid}:")
        if rootfs.get(home.lstrip("/")) is None:
            nodes.append(Node(home.lstrip("/"), "dir", 0o755, spec.uid, spec.uid))
    optional = {
        "etc/hostname": f"{spec.name}\n",
        "etc/hosts": "127.0.0.1\tlocalhost\n::1\tlocalhost\n",
        "etc/os-release": (f'NAME="sensorlab"\nID=sensorlab\nID_LIKE=alpine\n'
                           f'PRETTY_NAME="sensorlab {spec.name} (apk packages, busybox init)"\n'),
    }
    nodes += [Node(path, "file", 0o644, data=text.encode())
              for path, text in optional.items() if rootfs.get(path) is None]
    respawn = "::respawn:/etc/init.d/entrypoint\n" if spec.entrypoint else ""
    ours = [
        Node("etc/passwd", "file", 0o644, data=_merge_lines(rootfs.get("etc/passwd"), passwd)),
        Node("etc/group", "file", 0o644, data=_merge_lines(rootfs.get("etc/group"), group)),
        Node("etc/inittab", "file", 0o644, data=INITTAB.format(respawn=respawn).encode()),
        Node("etc/init.d/rcS", "file", 0o755, data=RCS.encode()),
    ]
    if spec.entrypoint:
        ours.append(Node("etc/init.d/entrypoint", "file", 0o755,
                         data=entrypoint_script(spec).encode()))
    # Our init files replace packaged ones (e.g. an OpenRC inittab): the image
    # must boot the way this module documents.
    return rootfs.with_nodes(nodes).with_nodes(ours, overwrite=True)
