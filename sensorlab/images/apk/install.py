"""Install verified packages into an in-memory rootfs, refusing hostile archives.

Planning is pure: packages in, a frozen ``Rootfs`` (every path with type,
mode, numeric owner and content) plus the apk database out. Nothing touches
the build host's file system until ``write_rootfs``, and by then no path can
leave the root: members with ``..`` or absolute names, symlinks that climb
above ``/``, paths that pass through a symlink, device nodes, FIFOs,
undeclared setuid/setgid bits and oversized members are all rejected,
naming the package.

Install scripts (``.post-install`` etc.) are recorded in
``lib/apk/db/scripts.tar`` as apk records them, but never run.
"""

from __future__ import annotations

import hashlib
import stat
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from sensorlab.images.apk.archive import file_info, q1, tar_bytes, tar_members
from sensorlab.images.apk.errors import ApkError, ChecksumError, HostileArchiveError
from sensorlab.images.apk.package import PAX_SHA1, ApkFile
from sensorlab.images.apk.pkginfo import render_index_entry

DEFAULT_MAX_MEMBER = 256 << 20
_DEFAULT_DIR = (0, 0, 0o755)
_DEFAULT_FILE = (0, 0, 0o644)


@dataclass(frozen=True)
class Node:
    path: str  # relative to the root, no leading slash
    kind: str  # dir | file | symlink
    mode: int = 0o755
    uid: int = 0
    gid: int = 0
    data: bytes = b""
    linkname: str = ""
    owner: str = ""  # package name; "" for files the image itself adds


@dataclass(frozen=True)
class Policy:
    setuid_allowed: frozenset[str] = frozenset()  # paths without leading "/"
    max_member_size: int = DEFAULT_MAX_MEMBER


@dataclass(frozen=True)
class Rootfs:
    nodes: Mapping[str, Node] = field(default_factory=dict)

    def get(self, path: str) -> Node | None:
        return self.nodes.get(path)

    def with_nodes(self, nodes: Iterable[Node], *, overwrite: bool = False) -> Rootfs:
        """Add image files; parents are made as 0755 root directories."""
        table = dict(self.nodes)
        for node in nodes:
            _ensure_parents(table, node.path, node.owner or "image")
            old = table.get(node.path)
            if old is not None and not overwrite and not (old.kind == node.kind == "dir"):
                raise ApkError(f"image file /{node.path} is already provided by "
                               f"{old.owner or 'the image'}")
            table[node.path] = node
        return Rootfs(table)


def normalize(name: str, what: str) -> str:
    """A member name as a clean relative path; ``..`` and absolute paths are hostile."""
    if name.startswith("/"):
        raise HostileArchiveError(f"{what}: member {name!r} has an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise HostileArchiveError(f"{what}: member {name!r} contains '..'")
    return "/".join(parts)


def escapes_root(path: str, target: str) -> bool:
    """Would symlink ``path`` -> ``target`` climb above the root it lives in?"""
    stack = [] if target.startswith("/") else path.split("/")[:-1]
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not stack:
                return True
            stack.pop()
        else:
            stack.append(part)
    return False


def _ensure_parents(table: dict[str, Node], path: str, what: str) -> None:
    parts = path.split("/")
    for depth in range(1, len(parts)):
        parent = "/".join(parts[:depth])
        node = table.get(parent)
        if node is None:
            table[parent] = Node(parent, "dir", 0o755, owner="")
        elif node.kind == "symlink":
            # Writing through a link would land wherever it points; on the
            # build host that may be outside the rootfs.
            raise HostileArchiveError(f"{what}: /{path} goes through symlink /{parent}")
        elif node.kind != "dir":
            raise HostileArchiveError(f"{what}: /{path} is below non-directory /{parent}")


@dataclass
class _PkgRecord:
    apk: ApkFile
    dirs: dict[str, tuple[tuple[int, int, int], list[tuple[str, tuple[int, int, int], str]]]]

    def dir(self, path: str, acl: tuple[int, int, int]) -> list[tuple[str, tuple[int, int, int],
                                                                      str]]:
        return self.dirs.setdefault(path, (acl, []))[1]


def _check_member(info: tarfile.TarInfo, path: str, policy: Policy, what: str) -> None:
    if info.ischr() or info.isblk():
        raise HostileArchiveError(f"{what}: /{path} is a device node")
    if info.isfifo():
        raise HostileArchiveError(f"{what}: /{path} is a FIFO")
    if not (info.isreg() or info.isdir() or info.issym() or info.islnk()):
        raise HostileArchiveError(f"{what}: /{path} has unsupported type {info.type!r}")
    if info.mode & (stat.S_ISUID | stat.S_ISGID) and path not in policy.setuid_allowed:
        raise HostileArchiveError(
            f"{what}: /{path} is setuid/setgid but not declared",
            hint="list the path in the recipe's setuid field if it is meant to be",
        )
    if info.size > policy.max_member_size:
        raise HostileArchiveError(
            f"{what}: /{path} is {info.size} bytes, over the {policy.max_member_size} limit")


def _install_one(table: dict[str, Node], apk: ApkFile, policy: Policy) -> _PkgRecord:
    what = f"package {apk.info.nv}"
    name = apk.info.name
    record = _PkgRecord(apk, {})
    seen: set[str] = set()
    for info, content in tar_members(apk.data_tar, what):
        path = normalize(info.name, what)
        _check_member(info, path, policy, what)
        if not path:
            continue  # the root itself: always 0755 root-owned
        if path in seen:
            raise HostileArchiveError(f"{what}: /{path} appears twice")
        seen.add(path)
        _ensure_parents(table, path, what)
        acl = (info.uid, info.gid, stat.S_IMODE(info.mode))
        old = table.get(path)
        parent = path.rpartition("/")[0]
        if info.isdir():
            if old is not None and old.kind != "dir":
                raise ApkError(f"{what}: directory /{path} clashes with a file of {old.owner}")
            if old is None or not old.owner:
                table[path] = Node(path, "dir", acl[2], acl[0], acl[1], owner=name)
            record.dir(path, acl)
            continue
        if old is not None:
            raise ApkError(f"{what}: /{path} is already provided by {old.owner or 'the image'}",
                           hint="apk would need a replaces= declaration; not supported")
        node, digest = _file_node(table, info, content, path, acl, name, what)
        expected = info.pax_headers.get(PAX_SHA1)
        if expected is not None and expected != hashlib.sha1(digest).hexdigest():
            raise ChecksumError(f"{what}: /{path} does not match its recorded checksum")
        table[path] = node
        parent_node = table.get(parent)
        parent_acl = (parent_node.uid, parent_node.gid, parent_node.mode) if parent_node else \
            _DEFAULT_DIR
        record.dir(parent, parent_acl).append((path.rpartition("/")[2], acl, q1(digest)))
    return record


def _file_node(table: dict[str, Node], info: tarfile.TarInfo, content: bytes | None, path: str,
               acl: tuple[int, int, int], owner: str, what: str) -> tuple[Node, bytes]:
    """The node for a file, symlink or hard link, and the bytes its checksum covers."""
    uid, gid, mode = acl
    if info.issym():
        if escapes_root(path, info.linkname):
            raise HostileArchiveError(
                f"{what}: symlink /{path} -> {info.linkname} escapes the root")
        return Node(path, "symlink", 0o777, uid, gid, linkname=info.linkname,
                    owner=owner), info.linkname.encode()
    if info.islnk():
        target_path = normalize(info.linkname, what)
        target = table.get(target_path)
        if target is None or target.kind != "file" or target.owner != owner:
            raise HostileArchiveError(
                f"{what}: hard link /{path} -> {info.linkname} has no file of this package")
        # Stored as a copy: the tar writer keeps no hard links either.
        return replace(target, path=path), target.data
    data = content or b""
    return Node(path, "file", mode, uid, gid, data=data, owner=owner), data


def plan_install(packages: Sequence[ApkFile], policy: Policy) -> tuple[Rootfs, str, bytes, str]:
    """Install ``packages`` (already verified, in order) into an empty root.

    Returns the rootfs and the apk database: ``installed``, ``scripts.tar``
    and ``triggers`` contents.
    """
    table: dict[str, Node] = {}
    records = [_install_one(table, apk, policy) for apk in packages]
    return Rootfs(table), render_installed(records), _scripts_tar(packages), _triggers(packages)


def _acl_line(tag: str, acl: tuple[int, int, int]) -> str:
    return f"{tag}:{acl[0]}:{acl[1]}:{acl[2]:o}\n"


def render_installed(records: Sequence[_PkgRecord]) -> str:
    """``lib/apk/db/installed`` in the layout of apk-tools 2.x ``apk_db_write_fdb``."""
    out: list[str] = []
    for record in records:
        out.append(render_index_entry(record.apk.info))
        for path, (acl, files) in record.dirs.items():
            out.append(f"F:{path}\n")
            if acl != _DEFAULT_DIR:
                out.append(_acl_line("M", acl))
            for name, file_acl, checksum in files:
                out.append(f"R:{name}\n")
                if file_acl != _DEFAULT_FILE:
                    out.append(_acl_line("a", file_acl))
                out.append(f"Z:{checksum}\n")
        out.append("\n")
    return "".join(out)


def _scripts_tar(packages: Sequence[ApkFile]) -> bytes:
    entries: list[tuple[tarfile.TarInfo, bytes | None]] = []
    for apk in packages:
        for script, body in apk.scripts:
            name = f"{apk.info.nv}.{apk.checksum}.{script}"
            entries.append((file_info(name, body, apk.info.builddate, 0o755), body))
    return tar_bytes(entries, cut=False)


def _triggers(packages: Sequence[ApkFile]) -> str:
    return "".join(f"{apk.checksum} {' '.join(apk.info.triggers)}\n"
                   for apk in packages if apk.info.triggers)


def add_applet_links(rootfs: Rootfs, applets: Iterable[str],
                     binary: str = "bin/busybox") -> Rootfs:
    """Symlinks for busybox applets (what ``busybox --install -s`` does in
    busybox's post-install script), never replacing a packaged file."""
    links = []
    for applet in sorted(set(applets)):
        path = normalize(applet, "busybox applet list")
        if not path or path == binary or rootfs.get(path) is not None:
            continue
        up = "../" * path.count("/")
        links.append(Node(path, "symlink", 0o777, linkname=up + binary, owner="busybox"))
    return rootfs.with_nodes(links)
