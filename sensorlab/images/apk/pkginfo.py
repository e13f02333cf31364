"""Package metadata: ``.PKGINFO`` (inside a package) and index entries.

An APKINDEX entry and an entry of ``lib/apk/db/installed`` share one line
format (``C:`` checksum, ``P:`` name, ``V:`` version, ...); it is rendered in
one place, in the field order of apk-tools 2.x ``apk_pkg_write_index_entry``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sensorlab.images.apk import version as apkver
from sensorlab.images.apk.errors import FormatError

_DEP = re.compile(r"^(?P<neg>!)?(?P<name>[^=<>~!@\s]+)(?:(?P<op><=|>=|=|<|>|~)(?P<ver>\S+))?$")


@dataclass(frozen=True)
class Dependency:
    """``name``, ``name>=1.2``, ``so:libc.musl-x86_64.so.1``, ``cmd:sh``, ``!conflict``."""

    name: str
    op: str | None = None
    version: str | None = None
    conflict: bool = False

    def __str__(self) -> str:
        text = ("!" if self.conflict else "") + self.name
        return text + (f"{self.op}{self.version}" if self.op else "")

    def allows(self, version: str | None) -> bool:
        """Does a package or provide with ``version`` (None: unversioned) satisfy this?"""
        if self.op is None or self.version is None:
            return True
        return version is not None and apkver.matches(version, self.op, self.version)


def parse_dependency(text: str, where: str = "dependency") -> Dependency:
    match = _DEP.match(text.strip())
    if match is None:
        hint = "repository tags (name@tag) are not supported" if "@" in text else None
        raise FormatError(f"{where}: cannot parse {text!r}", hint=hint)
    ver = match["ver"]
    if ver is not None and not apkver.is_valid(ver):
        raise FormatError(f"{where}: {text!r} has an invalid version {ver!r}")
    return Dependency(match["name"], match["op"], ver, bool(match["neg"]))


@dataclass(frozen=True)
class Provide:
    name: str
    version: str | None = None


def parse_provide(text: str, where: str = "provides") -> Provide:
    name, sep, ver = text.partition("=")
    if not name or (sep and not apkver.is_valid(ver)):
        raise FormatError(f"{where}: cannot parse provide {text!r}")
    return Provide(name, ver if sep else None)


@dataclass(frozen=True)
class PackageInfo:
    """What the index, .PKGINFO and the installed database say about a package."""

    name: str
    version: str
    arch: str = "noarch"
    description: str = ""
    url: str = ""
    license: str = ""
    origin: str = ""
    maintainer: str = ""
    builddate: int = 0
    commit: str = ""
    installed_size: int = 0
    depends: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    install_if: tuple[str, ...] = ()
    provider_priority: int = 0
    triggers: tuple[str, ...] = ()
    datahash: str = ""  # sha256 hex of the data stream (.PKGINFO only)
    checksum: str = ""  # "Q1" + base64(sha1(control stream)) (index only)
    file_size: int = 0  # size of the .apk (index only)
    extra: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def nv(self) -> str:
        return f"{self.name}-{self.version}"

    def dependencies(self) -> tuple[Dependency, ...]:
        return tuple(parse_dependency(d, f"package {self.nv}") for d in self.depends)

    def provided(self) -> tuple[Provide, ...]:
        return tuple(parse_provide(p, f"package {self.nv}") for p in self.provides)


_PKGINFO_SCALARS = {
    "pkgname": "name", "pkgver": "version", "arch": "arch", "pkgdesc": "description",
    "url": "url", "license": "license", "origin": "origin", "maintainer": "maintainer",
    "commit": "commit", "datahash": "datahash",
}
_PKGINFO_LISTS = {"depend": "depends", "provides": "provides", "install_if": "install_if"}


def parse_pkginfo(text: str, where: str) -> PackageInfo:
    fields: dict[str, object] = {}
    lists: dict[str, list[str]] = {v: [] for v in _PKGINFO_LISTS.values()}
    extra: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, sep, value = line.partition(" = ")
        if not sep:
            raise FormatError(f"{where}: bad .PKGINFO line {line!r}")
        if key in _PKGINFO_SCALARS:
            fields[_PKGINFO_SCALARS[key]] = value
        elif key in _PKGINFO_LISTS:
            lists[_PKGINFO_LISTS[key]].extend(value.split())
        elif key in ("size", "builddate", "provider_priority"):
            if not value.isdigit():
                raise FormatError(f"{where}: .PKGINFO {key} is not a number: {value!r}")
            name = {"size": "installed_size"}.get(key, key)
            fields[name] = int(value)
        elif key == "triggers":
            fields["triggers"] = tuple(value.split())
        else:
            extra.append((key, value))
    if "name" not in fields or "version" not in fields:
        raise FormatError(f"{where}: .PKGINFO lacks pkgname or pkgver")
    fields.update({k: tuple(v) for k, v in lists.items()})
    info = PackageInfo(**fields, extra=tuple(extra))  # type: ignore[arg-type]
    _validate(info, where)
    return info


def render_pkginfo(info: PackageInfo) -> str:
    lines = [
        "# Generated by sensorlab",
        f"pkgname = {info.name}",
        f"pkgver = {info.version}",
        f"pkgdesc = {info.description}",
        f"url = {info.url}",
        f"builddate = {info.builddate}",
        f"size = {info.installed_size}",
        f"arch = {info.arch}",
        f"origin = {info.origin or info.name}",
        f"license = {info.license}",
    ]
    if info.maintainer:
        lines.append(f"maintainer = {info.maintainer}")
    if info.commit:
        lines.append(f"commit = {info.commit}")
    if info.provider_priority:
        lines.append(f"provider_priority = {info.provider_priority}")
    lines += [f"depend = {d}" for d in info.depends]
    lines += [f"provides = {p}" for p in info.provides]
    if info.install_if:
        lines.append(f"install_if = {' '.join(info.install_if)}")
    if info.triggers:
        lines.append(f"triggers = {' '.join(info.triggers)}")
    if info.datahash:
        lines.append(f"datahash = {info.datahash}")
    return "\n".join(lines) + "\n"


def render_index_entry(info: PackageInfo) -> str:
    """One entry as apk writes it to APKINDEX and lib/apk/db/installed."""
    lines = [
        f"C:{info.checksum}", f"P:{info.name}", f"V:{info.version}", f"A:{info.arch}",
        f"S:{info.file_size}", f"I:{info.installed_size}", f"T:{info.description}",
        f"U:{info.url}", f"L:{info.license}",
    ]
    if info.origin:
        lines.append(f"o:{info.origin}")
    if info.maintainer:
        lines.append(f"m:{info.maintainer}")
    if info.builddate:
        lines.append(f"t:{info.builddate}")
    if info.commit:
        lines.append(f"c:{info.commit}")
    if info.provider_priority:
        lines.append(f"k:{info.provider_priority}")
    if info.depends:
        lines.append(f"D:{' '.join(info.depends)}")
    if info.provides:
        lines.append(f"p:{' '.join(info.provides)}")
    if info.install_if:
        lines.append(f"i:{' '.join(info.install_if)}")
    return "\n".join(lines) + "\n"


_INDEX_SCALARS = {
    "C": "checksum", "P": "name", "V": "version", "A": "arch", "T": "description",
    "U": "url", "L": "license", "o": "origin", "m": "maintainer", "c": "commit",
}
_INDEX_INTS = {"S": "file_size", "I": "installed_size", "t": "builddate", "k": "provider_priority"}
_INDEX_LISTS = {"D": "depends", "p": "provides", "i": "install_if"}


def parse_index(text: str, where: str) -> list[PackageInfo]:
    """Entries of an APKINDEX: blocks of ``X:value`` lines separated by blank lines."""
    entries: list[PackageInfo] = []
    block: dict[str, object] = {}
    for number, line in enumerate([*text.splitlines(), ""], start=1):
        if not line:
            if block:
                entries.append(_index_entry(block, f"{where} line {number}"))
                block = {}
            continue
        key, sep, value = line.partition(":")
        if not sep or len(key) != 1:
            raise FormatError(f"{where} line {number}: bad index line {line!r}")
        if key in _INDEX_SCALARS:
            block[_INDEX_SCALARS[key]] = value
        elif key in _INDEX_INTS:
            if not value.isdigit():
                raise FormatError(f"{where} line {number}: {key}: is not a number")
            block[_INDEX_INTS[key]] = int(value)
        elif key in _INDEX_LISTS:
            block[_INDEX_LISTS[key]] = tuple(value.split())
        # Other fields (r: replaces, q:, s:, ...) do not affect resolution.
    return entries


def _index_entry(block: dict[str, object], where: str) -> PackageInfo:
    if not all(k in block for k in ("checksum", "name", "version")):
        raise FormatError(f"{where}: index entry lacks C:, P: or V:")
    info = PackageInfo(**block)  # type: ignore[arg-type]
    _validate(info, where)
    return info


def _validate(info: PackageInfo, where: str) -> None:
    if not apkver.is_valid(info.version):
        raise FormatError(f"{where}: package {info.name} has an invalid version {info.version!r}")
    if "/" in info.name or info.name.startswith("."):
        raise FormatError(f"{where}: invalid package name {info.name!r}")
    info.dependencies()
    info.provided()
