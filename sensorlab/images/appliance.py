"""The appliance image: a debootstrapped Debian with the platform laid over it."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from sensorlab import log
from sensorlab.errors import ValidationError
from sensorlab.images.buildinfo import sha256_file
from sensorlab.images.lxdimage import ImageInfo, metadata_member, overlay_members
from sensorlab.images.sbom import SbomPackage, deb_purl
from sensorlab.images.tarball import Member, merge, tree_members
from sensorlab.run import run

# Left out of the image: runtime mounts LXD provides, and caches that differ
# from one debootstrap run to the next.
_EXCLUDED_PREFIXES = ("dev/", "proc/", "sys/", "run/", "tmp/",
                      "var/cache/apt/", "var/lib/apt/lists/", "var/cache/debconf/",
                      # ldconfig's own cache: its bytes differ between two debootstraps.
                      "var/cache/ldconfig/aux-cache")
# Log files go, their directories stay: daemons (lxd) refuse to start without them.
_LOG_DIR = "var/log/"


@dataclass(frozen=True)
class ApplianceRecipe:
    suite: str
    mirror: str
    variant: str
    packages: tuple[str, ...]
    enable: tuple[str, ...]

    @classmethod
    def load(cls, path: Path) -> ApplianceRecipe:
        raw = yaml.safe_load(path.read_text())
        if not isinstance(raw, dict):
            raise ValidationError(f"{path}: the appliance recipe must be a mapping")
        try:
            return cls(suite=str(raw["suite"]), mirror=str(raw["mirror"]),
                       variant=str(raw.get("variant", "minbase")),
                       packages=tuple(sorted(raw["packages"])),
                       enable=tuple(raw.get("enable", [])))
        except KeyError as exc:
            raise ValidationError(f"{path}: missing field {exc.args[0]}") from exc

    def cache_key(self) -> str:
        text = f"{self.suite}|{self.mirror}|{self.variant}|{','.join(self.packages)}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def debootstrap(recipe: ApplianceRecipe, cache_dir: Path) -> Path:
    """The debootstrapped rootfs for this recipe, made once and then reused."""
    target = cache_dir / f"debootstrap-{recipe.cache_key()}"
    rootfs = target / "rootfs"
    if (target / "complete").exists():
        return rootfs
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with log.step(f"debootstrap {recipe.suite} ({len(recipe.packages)} packages, ~1 min)"):
        run(["debootstrap", f"--variant={recipe.variant}",
             f"--include={','.join(recipe.packages)}", recipe.suite, rootfs, recipe.mirror],
            capture=False, hint="is the Debian mirror reachable? see ci/bootstrap")
    (target / "complete").touch()
    return rootfs


def debootstrap_version() -> str:
    proc = run(["dpkg-query", "-W", "-f=${Version}", "debootstrap"], check=False)
    return proc.stdout.strip() or "unknown"


def _excluder(rootfs: Path) -> Callable[[str], bool]:
    def excluded(rel: str) -> bool:
        if rel.startswith(_LOG_DIR):
            return not (rootfs / rel).is_dir() or (rootfs / rel).is_symlink()
        return any(rel.startswith(p) for p in _EXCLUDED_PREFIXES)

    return excluded


def platform_code_members(package_dir: Path) -> list[Member]:
    """The sensorlab package's sources, for the platform command on the appliance."""
    members = [Member(arcname="rootfs/opt/sensorlab", mode=0o755)]
    for path in sorted(package_dir.rglob("*")):
        rel = path.relative_to(package_dir.parent).as_posix()
        if "__pycache__" in path.parts:
            continue
        if path.is_dir():
            members.append(Member(arcname=f"rootfs/opt/sensorlab/{rel}", mode=0o755))
        elif path.suffix == ".py":
            members.append(Member(arcname=f"rootfs/opt/sensorlab/{rel}", data=path.read_bytes()))
    return members


def image_members(recipe: ApplianceRecipe, rootfs: Path, overlay: Path,
                  package_dir: Path) -> list[Member]:
    info = ImageInfo(name="appliance", description="sensorlab appliance (Debian)",
                     os="debian", release=recipe.suite)
    enabled = [
        Member(arcname=f"rootfs/etc/systemd/system/multi-user.target.wants/{unit}",
               linkname=f"/etc/systemd/system/{unit}")
        for unit in recipe.enable
    ]
    return merge(
        [metadata_member(info)],
        tree_members(rootfs, "rootfs", exclude=_excluder(rootfs)),
        # An empty machine-id makes systemd generate one per boot, not per build;
        # D-Bus reads the same one, as on any Debian system.
        [Member(arcname="rootfs/etc/machine-id", data=b""),
         Member(arcname="rootfs/var/lib/dbus/machine-id", linkname="/etc/machine-id")],
        overlay_members(overlay),
        platform_code_members(package_dir),
        enabled,
    )


def parse_dpkg_status(text: str) -> list[dict[str, str]]:
    """Installed packages from a dpkg status file (RFC 822 stanzas). Pure."""
    packages = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = ""
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t"):
                continue  # continuation lines: descriptions and conffiles
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        if fields.get("Status") == "install ok installed" and "Package" in fields:
            packages.append(fields)
    return sorted(packages, key=lambda f: f["Package"])


def deb_file_name(name: str, version: str, arch: str) -> str:
    """How apt and debootstrap name a downloaded package ("1:2.3" -> "1%3a2.3")."""
    return f"{name}_{version.replace(':', '%3a')}_{arch}.deb"


def sbom_packages(rootfs: Path) -> list[SbomPackage]:
    """Every installed Debian package, with the sha256 of the .deb it came from."""
    archives = rootfs / "var/cache/apt/archives"
    packages = []
    for fields in parse_dpkg_status((rootfs / "var/lib/dpkg/status").read_text()):
        name, version, arch = fields["Package"], fields["Version"], fields["Architecture"]
        deb = archives / deb_file_name(name, version, arch)
        checksums = (("SHA256", sha256_file(deb)),) if deb.is_file() else ()
        depends = tuple(sorted({d.strip().split(" ")[0].split(":")[0]
                                for d in fields.get("Depends", "").replace("|", ",").split(",")
                                if d.strip()}))
        packages.append(SbomPackage(
            name=name, version=version, purl=deb_purl(name, version, arch),
            checksums=checksums, supplier="Organization: Debian",
            description=fields.get("Description", ""), depends_on=depends))
    return packages
