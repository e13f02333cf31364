"""A signed Alpine-format repository that the test suite builds for itself.

Alpine's mirror cannot be reached from the build machines, so the tests
make their own: a ``busybox`` package around the host's static busybox
(Debian's busybox-static, installed by ci/bootstrap) plus small synthetic
packages that exercise ``so:``, ``cmd:`` and virtual provides.
"""

from __future__ import annotations

import re
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

from sensorlab.errors import SensorlabError
from sensorlab.images.apk.build import build_package, write_repository
from sensorlab.images.apk.keys import SigningKey, generate_keypair, load_signing_key
from sensorlab.images.apk.package import DataEntry, build_apk
from sensorlab.images.apk.pkginfo import PackageInfo
from sensorlab.images.apk.repo import Repository
from sensorlab.images.tarball import source_date_epoch
from sensorlab.run import run

ARCH = "x86_64"
TEST_VENDOR = "sensorlab"
_PT_INTERP = 3


@dataclass(frozen=True)
class GeneratedRepo:
    repository: Repository
    keys_dir: Path  # trusted public keys
    key: SigningKey
    busybox_version: str


def is_static_elf(path: Path) -> bool:
    """An x86-64 ELF without a PT_INTERP header needs no dynamic loader, so it
    runs in an image without glibc or musl."""
    head = path.read_bytes()[:4096]
    if head[:5] != b"\x7fELF\x02":
        return False
    phoff, = struct.unpack_from("<Q", head, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
    for index in range(phnum):
        offset = phoff + index * phentsize
        if offset + 4 > len(head):
            return False
        p_type, = struct.unpack_from("<I", head, offset)
        if p_type == _PT_INTERP:
            return False
    return True


def find_static_busybox() -> Path:
    candidates = [Path("/bin/busybox")]
    found = shutil.which("busybox")
    if found:
        candidates.append(Path(found))
    for path in candidates:
        if path.is_file() and is_static_elf(path):
            return path
    raise SensorlabError("no static busybox found (looked at /bin/busybox and PATH)",
                         hint="apt-get install busybox-static (ci/bootstrap does)")


def busybox_version(busybox: Path) -> str:
    """``1.35.0-r0`` from the banner; the Debian revision is not an apk version."""
    banner = run([busybox], check=False).stdout
    match = re.search(r"BusyBox v(\d+(?:\.\d+)*)", banner)
    return f"{match[1] if match else '0'}-r0"


def ensure_test_key(keys_dir: Path) -> SigningKey:
    """The test signing key in ``keys_dir``, made on first use (2048 bits: fast)."""
    existing = sorted(keys_dir.glob("*.rsa"))
    if existing:
        return load_signing_key(existing[0])
    return load_signing_key(generate_keypair(keys_dir, "sensorlab-test", bits=2048).private)


def _pkg(name: str, version: str, **fields: object) -> PackageInfo:
    base: dict[str, object] = {"arch": ARCH, "description": f"test package {name}",
                               "url": "https://sensorlab.invalid/", "license": "MIT",
                               "origin": name}
    return PackageInfo(name=name, version=version, **{**base, **fields})  # type: ignore[arg-type]


def synthetic_packages(key: SigningKey, mtime: int) -> list[bytes]:
    lib = [DataEntry("lib", "dir", 0o755)]
    script = b"#!/bin/sh\necho fake-tool\n"
    return [
        build_apk(_pkg("libfake", "1.0-r0", provides=("so:libfake.so.1=1.0",)),
                  [*lib, DataEntry("lib/libfake.so.1", data=b"libfake 1.0\n")], key, mtime=mtime),
        build_apk(_pkg("libfake", "1.2-r0", provides=("so:libfake.so.1=1.2",)),
                  [*lib, DataEntry("lib/libfake.so.1", data=b"libfake 1.2\n")], key, mtime=mtime),
        build_apk(_pkg("fake-tool", "2.0-r0", depends=("so:libfake.so.1", "cmd:sh"),
                       provides=("cmd:fake-tool=2.0-r0",)),
                  [DataEntry("usr", "dir", 0o755), DataEntry("usr/bin", "dir", 0o755),
                   DataEntry("usr/bin/fake-tool", data=script, mode=0o755)], key, mtime=mtime),
        build_apk(_pkg("shell-a", "1.0-r0", provides=("fake-shell",), provider_priority=10),
                  [], key, mtime=mtime),
        build_apk(_pkg("shell-b", "1.0-r0", provides=("fake-shell",), provider_priority=20),
                  [], key, mtime=mtime),
    ]


def busybox_package(busybox: Path, version: str, key: SigningKey, mtime: int) -> bytes:
    info = _pkg("busybox", version, provides=(f"cmd:busybox={version}", f"cmd:sh={version}"),
                license="GPL-2.0-only")
    entries = [DataEntry("bin", "dir", 0o755),
               DataEntry("bin/busybox", data=busybox.read_bytes(), mode=0o755)]
    return build_apk(info, entries, key, mtime=mtime)


def make_test_repository(work_dir: Path, busybox: Path | None = None) -> GeneratedRepo:
    """Build (or rebuild identically) the test repository under ``work_dir``."""
    binary = busybox or find_static_busybox()
    keys_dir = work_dir / "keys"
    key = ensure_test_key(keys_dir)
    mtime = source_date_epoch()
    version = busybox_version(binary)
    packages = [busybox_package(binary, version, key, mtime), *synthetic_packages(key, mtime)]
    repo_dir = work_dir / "repo"
    write_repository(repo_dir, packages, key, arch=ARCH, description="sensorlab test repository",
                     mtime=mtime)
    repository = Repository("test", str(repo_dir), vendor=TEST_VENDOR)
    return GeneratedRepo(repository, keys_dir, key, version)


HELLO_SCRIPT = b"""#!/bin/sh
# sensorlab test payload: record that the entrypoint ran and as whom, then stay up.
echo "sensorlab-hello uid=$(id -u)" > /tmp/sensorlab-hello.out
exec sleep 2147483647
"""


def hello_payload(work_dir: Path, key: SigningKey) -> Path:
    """A trivial instrument payload, packaged and signed like a real one."""
    tree = work_dir / "hello-payload"
    (tree / "usr" / "bin").mkdir(parents=True, exist_ok=True)
    script = tree / "usr" / "bin" / "sensorlab-hello"
    script.write_bytes(HELLO_SCRIPT)
    script.chmod(0o755)
    info = PackageInfo(name="sensorlab-hello", version="1.0-r0", arch=ARCH,
                       description="sensorlab test payload", url="https://sensorlab.invalid/",
                       license="MIT", origin="sensorlab-hello", depends=("cmd:sh",))
    out = work_dir / "payloads" / "sensorlab-hello-1.0-r0.apk"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(build_package(tree, info, key))
    return out
