"""Running pytest for the harness, and reading its JUnit report back."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from sensorlab import log
from sensorlab.errors import SensorlabError
from sensorlab.harness.paths import REPO

SUITES = {"unit": ["tests"], "integration": ["integration"], "all": ["tests", "integration"]}
NO_TESTS_COLLECTED = 5


def pytest_argv(suite: str, k: str | None, workers: int, reports: Path) -> list[str]:
    if suite not in SUITES:
        raise SensorlabError(f"unknown suite {suite!r}", hint=f"choose one of {sorted(SUITES)}")
    argv = [sys.executable, "-m", "pytest", *SUITES[suite],
            f"--junitxml={reports / 'junit.xml'}", "-o", "junit_family=xunit2"]
    if workers > 0:
        # loadgroup keeps tests that share a live appliance in one worker.
        argv += ["-n", str(workers), "--dist", "loadgroup"]
    if k:
        argv += ["-k", k]
    return argv


def run_pytest(suite: str, k: str | None, workers: int, reports: Path) -> int:
    reports.mkdir(parents=True, exist_ok=True)
    argv = pytest_argv(suite, k, workers, reports)
    log.info(f"running {suite} tests: {' '.join(argv[1:])}")
    # pytest prints its own progress; its exit code is the result.
    code = subprocess.call(argv, cwd=REPO)
    if code == NO_TESTS_COLLECTED:
        raise SensorlabError("pytest collected no tests",
                             hint="a run with nothing to test is a broken selection, not a pass")
    return code


def summarise(junit: Path, out: Path) -> str:
    if not junit.is_file():
        raise SensorlabError(f"no test report at {junit}", hint="run `inv test` first")
    root = ET.parse(junit).getroot()
    outcomes: Counter[str] = Counter()
    per_file: dict[str, Counter[str]] = {}
    failures: list[str] = []
    for case in root.iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        module = case.get("classname", "").rsplit(".", 1)[0]
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
