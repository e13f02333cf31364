"""Running pytest for the harness, and reading its JUnit report back."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sensorlab import log
from sensorlab.errors import SensorlabError
from sensorlab.harness.paths import REPO

NO_TESTS_COLLECTED = 5


@dataclass(frozen=True)
class Suite:
    name: str
    paths: tuple[str, ...]
    # Integration tests share one live appliance and some take its enforcement
    # away on purpose (the twins), so they run one at a time. pytest-xdist's
    # xdist_group did not keep them on one worker with pytest 9.2 + xdist 3.8.
    parallel: bool


UNIT = Suite("unit", ("tests",), parallel=True)
INTEGRATION = Suite("integration", ("integration",), parallel=False)
SUITES = {"unit": (UNIT,), "integration": (INTEGRATION,), "all": (UNIT, INTEGRATION)}


def pytest_argv(suite: Suite, k: str | None, workers: int, reports: Path) -> list[str]:
    argv = [sys.executable, "-m", "pytest", *suite.paths,
            f"--junitxml={reports / f'junit-{suite.name}.xml'}", "-o", "junit_family=xunit2"]
    if suite.parallel and workers > 0:
        argv += ["-n", str(workers)]
    else:
        argv += ["-p", "no:xdist"]
    if k:
        argv += ["-k", k]
    return argv


def run_pytest(selection: str, k: str | None, workers: int, reports: Path) -> int:
    """Run the selected suites; every run writes reports/junit.xml. Returns the worst exit."""
    if selection not in SUITES:
        raise SensorlabError(f"unknown suite {selection!r}",
                             hint=f"choose one of {sorted(SUITES)}")
    reports.mkdir(parents=True, exist_ok=True)
    codes = []
    parts = []
    for suite in SUITES[selection]:
        argv = pytest_argv(suite, k, workers, reports)
        log.info(f"running {suite.name} tests: {' '.join(argv[1:])}")
        # pytest prints its own progress; its exit code is the result.
        code = subprocess.call(argv, cwd=REPO)
        if code == NO_TESTS_COLLECTED and not k:
            raise SensorlabError(f"pytest collected no {suite.name} tests",
                                 hint="a run with nothing to test is a broken selection")
        codes.append(0 if code == NO_TESTS_COLLECTED else code)
        parts.append(reports / f"junit-{suite.name}.xml")
    merge_junit([p for p in parts if p.is_file()], reports / "junit.xml")
    return max(codes)


def merge_junit(parts: list[Path], out: Path) -> None:
    """One JUnit file with every suite's <testsuite> elements."""
    merged = ET.Element("testsuites")
    for part in parts:
        root = ET.parse(part).getroot()
        merged.extend(root.iter("testsuite") if root.tag == "testsuites" else [root])
    ET.ElementTree(merged).write(out, encoding="utf-8", xml_declaration=True)


def summarise(junit: Path, out: Path) -> str:
    if not junit.is_file():
        raise SensorlabError(f"no test report at {junit}", hint="run `inv test` first")
    root = ET.parse(junit).getroot()
    outcomes: Counter[str] = Counter()
    per_file: dict[str, Counter[str]] = {}
    failures: list[str] = []
    for case in root.iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        module = case.get("classname", "")
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
                failures.append(name)
            elif child.tag == "skipped":
                outcome = "skipped"
        outcomes[outcome] += 1
        per_file.setdefault(module, Counter())[outcome] += 1
    lines = ["# sensorlab test summary", "",
             "| module | passed | failed | skipped |", "| --- | --- | --- | --- |"]
    for module in sorted(per_file):
        c = per_file[module]
        lines.append(f"| {module} | {c['passed']} | {c['failed']} | {c['skipped']} |")
    lines += ["", f"{outcomes['passed']} passed, {outcomes['failed']} failed, "
              f"{outcomes['skipped']} skipped"]
    if failures:
        lines += ["", "Failed:", *[f"- {name}" for name in failures]]
    text = "\n".join(lines) + "\n"
    out.write_text(text)
    return text
