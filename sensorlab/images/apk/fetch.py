"""Decide and obtain the packages of an image: from the lock, or by resolving.

With a lock that matches the recipe, nothing but the locked checksums is
trusted and nothing is downloaded that the cache already holds: the build
runs offline. Without one (or with ``update_lock``), the signed indexes are
read, the request is resolved, and the new lock is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sensorlab import log
from sensorlab.images.apk.errors import ApkError, LockMismatchError, ResolveError
from sensorlab.images.apk.index import read_index
from sensorlab.images.apk.keys import TrustedKeys
from sensorlab.images.apk.lock import (
    Lock,
    LockedPackage,
    check_matches,
    load_lock,
    make_lock,
    render_lock,
)
from sensorlab.images.apk.package import ApkFile, read_apk, verify_apk
from sensorlab.images.apk.repo import (
    PackageCache,
    Repository,
    fetch_index_bytes,
    package_filename,
    read_location,
)
from sensorlab.images.apk.resolve import Candidate, resolve

PAYLOAD_REPOSITORY = "payload"


@dataclass(frozen=True)
class Selected:
    apk: ApkFile
    repository: Repository
    sha256: str  # of the .apk file, for the SBOM and build manifest


@dataclass(frozen=True)
class Request:
    packages: tuple[str, ...]
    repositories: tuple[Repository, ...]
    payloads: tuple[Path, ...]
    lockfile: Path
    arch: str = "x86_64"
    max_unpacked: int = 1 << 30


def _payload_repo() -> Repository:
    return Repository(PAYLOAD_REPOSITORY, "", vendor="sensorlab")


def _load_payloads(req: Request, trusted: TrustedKeys) -> list[Selected]:
    out = []
    for path in req.payloads:
        blob = read_location(str(path))
        apk = read_apk(blob, f"payload {path.name}", req.max_unpacked)
        verify_apk(apk, trusted)
        out.append(Selected(apk, _payload_repo(), hashlib.sha256(blob).hexdigest()))
    return out


def _fetch(repo: Repository, name: str, version: str, checksum: str, origin: str,
           req: Request, trusted: TrustedKeys, cache: PackageCache) -> Selected:
    what = f"package {name}-{version}"
    blob = cache.get(checksum)
    if blob is not None:
        apk = read_apk(blob, what, req.max_unpacked)
        if apk.checksum != checksum:
            cache.drop(checksum, "contents do not match its checksum")
            blob = None
    if blob is None:
        blob = read_location(repo.location(req.arch, package_filename(name, version)))
        apk = read_apk(blob, what, req.max_unpacked)
    verify_apk(apk, trusted, expected_checksum=checksum, origin=origin)
    if apk.info.name != name or apk.info.version != version:
        raise ApkError(f"{what}: file holds {apk.info.nv} instead")
    cache.put(checksum, blob)
    return Selected(apk, repo, hashlib.sha256(blob).hexdigest())


def _candidates(selected: Sequence[Selected], priority: int) -> list[Candidate]:
    return [Candidate(s.apk.info, s.repository.name, priority) for s in selected]


def _from_lock(req: Request, lock: Lock, payloads: list[Selected], request: list[str],
               trusted: TrustedKeys, cache: PackageCache) -> list[Selected]:
    repos = {r.name: r for r in req.repositories}
    check_matches(lock, request, req.arch, list(repos), str(req.lockfile))
    locked = [_fetch(repos[p.repository], p.name, p.version, p.checksum, "the lock", req,
                     trusted, cache) for p in lock.packages]
    # The lock must still be a complete answer: a payload may have gained a
    # dependency that nothing locked provides.
    universe = _candidates(payloads, 0) + _candidates(locked, 1)
    try:
        order = resolve(request, universe, req.arch)
    except ResolveError as exc:
        raise LockMismatchError(f"lockfile {req.lockfile} no longer satisfies the recipe: "
                                f"{exc.message}",
                                hint="run `inv build --update-lock` to re-resolve") from exc
    unused = sorted({s.apk.info.name for s in locked} - {c.info.name for c in order})
    if unused:
        raise LockMismatchError(f"lockfile {req.lockfile} pins packages the recipe no longer "
                                f"needs: {', '.join(unused)}",
                                hint="run `inv build --update-lock` to re-resolve")
    by_name = {s.apk.info.name: s for s in payloads + locked}
    return [by_name[c.info.name] for c in order]


def _resolve_fresh(req: Request, payloads: list[Selected], request: list[str],
                   trusted: TrustedKeys, cache: PackageCache) -> list[Selected]:
    universe = _candidates(payloads, 0)
    for priority, repo in enumerate(req.repositories, start=1):
        what = f"index of repository {repo.name}"
        entries = read_index(fetch_index_bytes(repo, req.arch), trusted, what, req.max_unpacked)
        universe += [Candidate(info, repo.name, priority) for info in entries]
    order = resolve(request, universe, req.arch)
    repos = {r.name: r for r in req.repositories}
    payload_by_name = {s.apk.info.name: s for s in payloads}
    out = []
    for cand in order:
        if cand.repository == PAYLOAD_REPOSITORY:
            out.append(payload_by_name[cand.info.name])
            continue
        out.append(_fetch(repos[cand.repository], cand.info.name, cand.info.version,
                          cand.info.checksum, "the index", req, trusted, cache))
    return out


def select_packages(req: Request, trusted: TrustedKeys, cache: PackageCache,
                    update_lock: bool = False) -> tuple[list[Selected], Lock]:
    """The verified packages to install, in install order, and the lock they satisfy."""
    if any(r.name == PAYLOAD_REPOSITORY for r in req.repositories):
        raise ApkError(f"repository name {PAYLOAD_REPOSITORY!r} is reserved for payloads")
    payloads = _load_payloads(req, trusted)
    request = sorted(set(req.packages) | {p.apk.info.name for p in payloads})
    lock = None if update_lock else load_lock(req.lockfile)
    if lock is not None:
        return _from_lock(req, lock, payloads, request, trusted, cache), lock
    selected = _resolve_fresh(req, payloads, request, trusted, cache)
    lock = make_lock(request, req.arch, [r.name for r in req.repositories], [
        LockedPackage(s.apk.info.name, s.apk.info.version, s.apk.checksum, s.repository.name)
        for s in selected if s.repository.name != PAYLOAD_REPOSITORY
    ])
    text = render_lock(lock)
    if not req.lockfile.is_file() or req.lockfile.read_text() != text:
        req.lockfile.parent.mkdir(parents=True, exist_ok=True)
        req.lockfile.write_text(text)
        log.info(f"wrote lockfile {req.lockfile} ({len(lock.packages)} packages)")
    return selected, lock
