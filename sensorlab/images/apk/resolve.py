"""Deterministic dependency resolution over package metadata (pure, no I/O).

Not a SAT solver: a breadth-first walk that picks one candidate per
dependency by fixed rules and never backtracks, so the answer depends only
on the request and the candidate set, and a conflict is reported with the
chain that caused it. Rules for a dependency ``name[op version]``:

1. already installed (selected) and satisfying: done;
2. else the packages *named* ``name`` that satisfy it: highest version,
   ties to the earlier repository;
3. else providers (``p:`` entries, including ``so:``/``cmd:`` names): a
   versioned provide satisfies a versioned dependency, an unversioned one
   only a bare name. Highest ``provider_priority``, then highest provided
   version, then package name, then repository order.

``!name`` conflicts are checked once everything is selected. Packages are
returned in install order: dependencies first, ties by name.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from sensorlab.images.apk import version as apkver
from sensorlab.images.apk.errors import ResolveError
from sensorlab.images.apk.pkginfo import Dependency, PackageInfo, parse_dependency

NOARCH = "noarch"


@dataclass(frozen=True)
class Candidate:
    info: PackageInfo
    repository: str  # repository name, recorded in the lock
    priority: int  # repository order: lower wins ties


def _provides(cand: Candidate, dep: Dependency) -> str | bool | None:
    """The provided version if ``cand`` provides ``dep.name`` (None: unversioned)."""
    for provide in cand.info.provided():
        if provide.name == dep.name:
            return provide.version
    return False


def satisfies(cand: Candidate, dep: Dependency) -> bool:
    if cand.info.name == dep.name:
        return dep.allows(cand.info.version)
    provided = _provides(cand, dep)
    if provided is False:
        return False
    if provided is None:
        return dep.op is None
    return dep.allows(str(provided))


def _best_named(cands: list[Candidate]) -> Candidate:
    best = cands[0]
    for cand in cands[1:]:
        order = apkver.compare(cand.info.version, best.info.version)
        if order > 0 or (order == 0 and cand.priority < best.priority):
            best = cand
    return best


def _better_provider(a: Candidate, b: Candidate, dep: Dependency) -> bool:
    """Is ``a`` preferred over ``b`` as the provider of ``dep``?"""
    if a.info.provider_priority != b.info.provider_priority:
        return a.info.provider_priority > b.info.provider_priority
    va, vb = _provides(a, dep), _provides(b, dep)
    if isinstance(va, str) and isinstance(vb, str) and apkver.compare(va, vb) != 0:
        return apkver.compare(va, vb) > 0
    if a.info.name != b.info.name:
        return a.info.name < b.info.name
    return a.priority < b.priority


def _choose(dep: Dependency, universe: Sequence[Candidate], why: str) -> Candidate:
    named = [c for c in universe if c.info.name == dep.name]
    fitting = [c for c in named if dep.allows(c.info.version)]
    if fitting:
        return _best_named(fitting)
    providers = [c for c in universe if c.info.name != dep.name and satisfies(c, dep)]
    if providers:
        best = providers[0]
        for cand in providers[1:]:
            if _better_provider(cand, best, dep):
                best = cand
        return best
    if named:
        versions = ", ".join(sorted({c.info.version for c in named}, key=apkver.sort_key))
        raise ResolveError(f"no version of {dep.name} satisfies {dep} ({why}); "
                           f"available: {versions}")
    raise ResolveError(f"nothing provides {dep} ({why})")


def resolve(request: Sequence[str], universe: Sequence[Candidate],
            arch: str = "x86_64") -> list[Candidate]:
    """The packages to install for ``request`` (dependency strings), in install order."""
    usable = [c for c in universe if c.info.arch in (arch, NOARCH)]
    selected: dict[str, Candidate] = {}
    edges: dict[str, set[str]] = {}
    conflicts: list[tuple[Dependency, str]] = []
    queue: deque[tuple[Dependency, Candidate | None]] = deque(
        (parse_dependency(text, "requested package"), None) for text in sorted(set(request))
    )
    while queue:
        dep, parent = queue.popleft()
        why = f"required by {parent.info.nv}" if parent else "requested"
        if dep.conflict:
            conflicts.append((dep, why))
            continue
        chosen = next((c for c in selected.values() if satisfies(c, dep)), None)
        if chosen is None:
            clash = selected.get(dep.name)
            if clash is not None:
                raise ResolveError(
                    f"{dep} ({why}) conflicts with {clash.info.nv}, already selected")
            chosen = _choose(dep, usable, why)
            if chosen.info.name in selected:
                raise ResolveError(
                    f"{dep} ({why}) needs {chosen.info.nv}, but "
                    f"{selected[chosen.info.name].info.nv} is already selected")
            selected[chosen.info.name] = chosen
            edges[chosen.info.name] = set()
            for sub in chosen.info.dependencies():
                queue.append((sub, chosen))
        if parent is not None and chosen.info.name != parent.info.name:
            edges[parent.info.name].add(chosen.info.name)
    for dep, why in conflicts:
        for cand in selected.values():
            if satisfies(cand, Dependency(dep.name, dep.op, dep.version)):
                raise ResolveError(f"{cand.info.nv} is selected but conflicts with {dep} ({why})")
    return [selected[name] for name in _install_order(edges)]


def _install_order(edges: dict[str, set[str]]) -> list[str]:
    """Depth-first post-order in name order: dependencies first; cycles cut at
    the back edge, as apk does for its (rare) circular dependencies."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str) -> None:
        if state.get(name):
            return
        state[name] = 1
        for child in sorted(edges[name]):
            visit(child)
        order.append(name)

    for name in sorted(edges):
        visit(name)
    return order
