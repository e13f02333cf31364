"""sensorlab tasks. Thin: each task calls library code and turns errors into one line.

Run `inv --list` for the tasks and `inv <task> --help` for their options.
Set SENSORLAB_DEBUG=1 (or pass `inv --debug`) to see tracebacks.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from invoke import Collection, Exit, task  # type: ignore[attr-defined]

from sensorlab import log
from sensorlab.errors import SensorlabError
from sensorlab.harness import paths

F = TypeVar("F", bound=Callable[..., Any])


def _debug() -> bool:
    return bool(os.environ.get("SENSORLAB_DEBUG")) or "--debug" in sys.argv or "-d" in sys.argv


def clean_errors(func: F) -> F:
    """One line and a non-zero exit for a SensorlabError; tracebacks only with --debug."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SensorlabError as exc:
            if _debug():
                raise
            raise Exit(exc.render(), code=1) from None

    return wrapper  # type: ignore[return-value]


def _deployment(sensor: str) -> Any:
    from sensorlab.planner import plan_sensor

    return plan_sensor(Path(sensor)).deployment


@task(help={"out": "where images go (default build/images)",
            "update_lock": "re-resolve packages and rewrite images/locks/*.lock"})
@clean_errors
def build(c: Any, out: str = str(paths.IMAGES), update_lock: bool = False) -> None:
    """Build the instrument images (Alpine path) and the appliance image; skip unchanged ones."""
    from sensorlab.harness.build import build_all
    from sensorlab.harness.instruments import BuildPaths

    build_paths = BuildPaths(keys=paths.KEYS, repo=paths.LAB_REPO, payloads=paths.PAYLOADS,
                             locks=paths.LOCKS, out=Path(out), cache=paths.CACHE)
    for image in build_all(paths.APPLIANCE_RECIPE, paths.PACKAGE, paths.INSTRUMENTS,
                           Path(out), paths.CACHE, build_paths, update_lock=update_lock):
        state = "unchanged" if image.skipped else "built"
        print(f"{image.name:20} {state:9} sha256:{image.sha256}  {image.path}")


@task(help={"out": "directory for the key pair (default build/keys)",
            "bits": "RSA key size: 2048, 3072 or 4096"})
@clean_errors
def keygen(c: Any, out: str = str(paths.KEYS), bits: int = 4096) -> None:
    """Make the project's signing key pair for instrument payload packages."""
    from sensorlab.harness.instruments import keygen as make_key

    pair = make_key(Path(out), bits)
    print(f"private key {pair.private} (keep it secret), public key {pair.public}")


@task(help={"work": "scratch directory for the second build (default build/repro)"})
@clean_errors
def reproduce(c: Any, work: str = str(paths.BUILD / "repro")) -> None:
    """Rebuild every image from nothing elsewhere; compare each sha256 with build/images."""
    from sensorlab.harness import repro

    reference = repro.artifacts(paths.IMAGES)
    if not reference:
        raise Exit("sensorlab: error: nothing built yet\n  hint: run `inv build` first", code=1)
    results = repro.compare(reference, repro.rebuild(
        paths.APPLIANCE_RECIPE, paths.PACKAGE, paths.INSTRUMENTS, paths.KEYS, paths.LOCKS,
        Path(work)))
    for item in results:
        print(f"{'same' if item.same else 'DIFFERENT':9} {item.artifact:28} {item.reference}")
    different = [item.artifact for item in results if not item.same]
    if different:
        raise Exit(f"sensorlab: not reproducible: {', '.join(different)}", code=1)


@task(
    iterable=["manifest"],
    help={
        "sensor": "a sensor file (sensor.yaml)",
        "manifest": "an instrument manifest; repeat to plan a sensor of just these",
        "out": "directory for the plan's files",
    },
)
@clean_errors
def plan(c: Any, sensor: str = "", manifest: list[str] | None = None,
         out: str = "build/plan") -> None:
    """Plan a sensor: nats.conf, nftables.nft, LXD profiles, storage, UI routes, summary."""
    from sensorlab.planner import plan_command

    plan_command(sensor or None, list(manifest or []), out)


@task(help={"sensor": "sensor file to deploy (default sensors/lab.yaml)"})
@clean_errors
def deploy(c: Any, sensor: str = str(paths.DEFAULT_SENSOR)) -> None:
    """Create the lab segments, launch the appliance in LXD and deploy the instruments in it."""
    from sensorlab.harness.deploy import deploy as do_deploy

    result = do_deploy(_deployment(sensor), paths.IMAGES, paths.STATE)
    print(f"deployed in {result.seconds:.1f}s "
          f"(appliance's LXD ready after {result.appliance_boot_seconds:.1f}s)")


@task(
    help={
        "suite": "unit, integration or all (default all)",
        "k": "only tests matching this pytest -k expression",
        "workers": "pytest-xdist workers (default 2)",
    },
)
@clean_errors
def test(c: Any, suite: str = "all", k: str = "", workers: int = 2) -> None:
    """Run the tests with pytest; writes build/reports/junit.xml."""
    from sensorlab.harness.testrun import run_pytest

    code = run_pytest(suite, k or None, workers, paths.REPORTS)
    if code != 0:
        raise Exit(f"sensorlab: tests failed (pytest exit {code})", code=code)


@task
@clean_errors
def report(c: Any) -> None:
    """Summarise build/reports/junit.xml per test file and marker."""
    from sensorlab.harness.testrun import summarise

    print(summarise(paths.REPORTS / "junit.xml", paths.REPORTS / "summary.md"))


@task(help={"images": "also delete built images (the debootstrap cache stays)"})
@clean_errors
def clean(c: Any, images: bool = False) -> None:
    """Remove the LXD project, lab namespaces and links sensorlab made."""
    from sensorlab.harness.clean import clean as do_clean
    from sensorlab.harness.clean import leftovers

    removed = do_clean(paths.STATE, paths.IMAGES if images else None)
    print(f"removed {len(removed)} item(s)" if removed else "nothing to remove")
    left = leftovers()
    if left:
        raise Exit(f"sensorlab: clean: still present: {', '.join(left)}", code=1)
    print("nothing of sensorlab is left in LXD, the netns list or the links")


@task
@clean_errors
def doctor(c: Any) -> None:
    """Check this host: LXD, nesting, nftables, fscrypt, nats-server. One line each."""
    from sensorlab.harness.doctor import run_checks

    checks = run_checks()
    for check in checks:
        print(check.line())
    failed = [check.name for check in checks if not check.ok]
    if failed:
        raise Exit(f"sensorlab: doctor: {len(failed)} check(s) failed: {', '.join(failed)}",
                   code=1)


@task(help={"sensor": "sensor file to deploy (default sensors/lab.yaml)"})
@clean_errors
def pipeline(c: Any, sensor: str = str(paths.DEFAULT_SENSOR)) -> None:
    """The main job: doctor, build, reproduce, deploy, test, report."""
    stages: list[tuple[str, Callable[[], None]]] = [
        ("doctor", lambda: doctor(c)),
        ("build", lambda: build(c)),
        ("reproduce", lambda: reproduce(c)),
        ("deploy", lambda: deploy(c, sensor=sensor)),
        ("test", lambda: test(c)),
    ]
    try:
        for index, (name, stage) in enumerate(stages, start=1):
            with log.step(f"pipeline: {name}", index, len(stages) + 1):
                stage()
    finally:
        # The report is wanted most when a stage failed.
        if (paths.REPORTS / "junit.xml").is_file():
            with log.step("pipeline: report", len(stages) + 1, len(stages) + 1):
                report(c)


ns = Collection(build, keygen, reproduce, plan, deploy, test, report, clean, doctor, pipeline)
