"""Bad input, as data: each tests/data/errors/<case>.yaml holds the input files,
what to plan, and the one message the user must see.

A case is ``{plan: sensor | [manifest files], files: {name: text}, error: "..."}``;
``{dir}`` in ``error`` stands for the folder the files were written to.
Regenerate expected messages with SENSORLAB_UPDATE_GOLDEN=1 (then review the diff).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from sensorlab.errors import ValidationError
from sensorlab.planner import plan_command, plan_manifests, plan_sensor

CASES = sorted((Path(__file__).parent / "data" / "errors").glob("*.yaml"))
REPO = Path(__file__).resolve().parent.parent


def _write(case: dict[str, Any], where: Path) -> None:
    for name, text in case["files"].items():
        target = where / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def _plan(case: dict[str, Any], where: Path) -> None:
    if case["plan"] == "sensor":
        plan_sensor(where / "sensor.yaml")
    else:
        plan_manifests([where / name for name in case["plan"]])


@pytest.mark.parametrize("path", CASES, ids=[c.stem for c in CASES])
def test_bad_input_gives_one_clear_message(path: Path, tmp_path: Path) -> None:
    case = yaml.safe_load(path.read_text())
    _write(case, tmp_path)
    with pytest.raises(ValidationError) as caught:
        _plan(case, tmp_path)
    message = caught.value.message.replace(str(tmp_path), "{dir}")
    if os.environ.get("SENSORLAB_UPDATE_GOLDEN") == "1":
        text = path.read_text()
        head = text[: text.rindex("\nerror:") + 1]
        path.write_text(head + yaml.safe_dump({"error": message}, width=1000))
        return
    assert message == case["error"]
    assert "\n" not in message and message.startswith("{dir}/")


def test_plan_command_needs_exactly_one_input(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        plan_command(None, [], str(tmp_path))
    with pytest.raises(ValidationError):
        plan_command("sensor.yaml", ["m.yaml"], str(tmp_path))


def test_invalid_input_writes_nothing(tmp_path: Path) -> None:
    case = yaml.safe_load((CASES[0]).read_text())
    _write(case, tmp_path / "in")
    out = tmp_path / "out"
    with pytest.raises(ValidationError):
        if case["plan"] == "sensor":
            plan_command(str(tmp_path / "in" / "sensor.yaml"), [], str(out))
        else:
            plan_command(None, [str(tmp_path / "in" / n) for n in case["plan"]], str(out))
    assert not out.exists()


def test_command_line_exits_nonzero_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "sensor.yaml"
    bad.write_text("instruments:\n  p: {manifest: missing.yaml}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "sensorlab.planner", "--sensor", str(bad), "--out",
         str(tmp_path / "out")],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"sensorlab: error: {tmp_path}/missing.yaml: file not found")
    assert not (tmp_path / "out").exists()
