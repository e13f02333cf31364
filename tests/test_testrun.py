"""The harness's pytest driver: argv per suite, merged JUnit, the summary."""

from __future__ import annotations

from pathlib import Path

from sensorlab.harness import testrun

JUNIT = """<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="3">
<testcase classname="integration.test_passive" name="test_a"/>
<testcase classname="integration.test_passive" name="test_b"><failure message="x"/></testcase>
<testcase classname="tests.test_x" name="test_c"><skipped/></testcase>
</testsuite></testsuites>"""


def test_integration_runs_serially_and_unit_in_parallel(tmp_path: Path) -> None:
    unit = testrun.pytest_argv(testrun.UNIT, None, 2, tmp_path)
    integ = testrun.pytest_argv(testrun.INTEGRATION, "passive", 2, tmp_path)
    assert unit[3:4] == ["tests"] and "-n" in unit
    assert "-n" not in integ and integ[integ.index("-p"):][:2] == ["-p", "no:xdist"]
    assert integ[-2:] == ["-k", "passive"]


def test_merge_and_summarise(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_text(JUNIT)
    (tmp_path / "b.xml").write_text(JUNIT)
    testrun.merge_junit([tmp_path / "a.xml", tmp_path / "b.xml"], tmp_path / "junit.xml")
    text = testrun.summarise(tmp_path / "junit.xml", tmp_path / "summary.md")
    assert "2 passed, 2 failed, 2 skipped" in text
    assert "| integration.test_passive | 2 | 2 | 0 |" in text
    assert "- integration.test_passive::test_b" in text
