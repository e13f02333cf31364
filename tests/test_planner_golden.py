"""Golden plans: data in (tests/data/sample), expected files out (tests/golden/sample).

Regenerate after an intended change with
    SENSORLAB_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_planner_golden.py
and review the diff like code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from plan_checks import check_nats, check_nft

from sensorlab.planner import plan_command, plan_sensor
from sensorlab.spec import Deployment, NetworkMode

HERE = Path(__file__).resolve().parent
SAMPLE = HERE / "data" / "sample" / "sensor.yaml"
GOLDEN = HERE / "golden" / "sample"


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_sample_plan_matches_goldens() -> None:
    files = plan_sensor(SAMPLE).files()
    if os.environ.get("SENSORLAB_UPDATE_GOLDEN") == "1":
        for old in GOLDEN.rglob("*"):
            if old.is_file():
                old.unlink()
        plan_sensor(SAMPLE).write(GOLDEN)
    assert files == _tree(GOLDEN)


def test_sample_plan_passes_external_checks() -> None:
    plan = plan_sensor(SAMPLE)
    files = plan.files()
    check_nft(files["nftables.nft"])
    check_nats(files["nats.conf"], plan.deployment)


def test_same_input_gives_same_bytes(tmp_path: Path) -> None:
    plan_command(str(SAMPLE), [], str(tmp_path / "a"))
    plan_command(str(SAMPLE), [], str(tmp_path / "b"))
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b") == plan_sensor(SAMPLE).files()


def test_write_removes_stale_profiles(tmp_path: Path) -> None:
    (tmp_path / "lxd").mkdir()
    (tmp_path / "lxd" / "gone.yaml").write_text("old")
    plan_sensor(SAMPLE).write(tmp_path)
    assert not (tmp_path / "lxd" / "gone.yaml").exists()


def test_sample_covers_every_network_mode() -> None:
    plan = plan_sensor(SAMPLE)
    deployment = plan.deployment
    modes = {i.network for i in deployment.instruments}
    assert modes == set(NetworkMode)
    assert plan.helpers == ("capco",)
    assert Deployment.from_json(deployment.to_json()) == deployment


@pytest.mark.parametrize("name", ["passivedns", "rmgr"])
def test_no_network_instruments_get_no_nic(name: str) -> None:
    spec = plan_sensor(SAMPLE).deployment.instrument(name)
    assert not (spec.nics or spec.bridged_nics or spec.physical_nics)
    profile = plan_sensor(SAMPLE).files()[f"lxd/{name}.yaml"]
    assert "type: nic" not in profile


def test_profiles_are_yaml_of_the_profile_data() -> None:
    import yaml

    from sensorlab.planner.render_lxd import profile

    plan = plan_sensor(SAMPLE)
    files = plan.files()
    for spec in plan.deployment.instruments:
        assert yaml.safe_load(files[f"lxd/{spec.name}.yaml"]) == profile(spec)
