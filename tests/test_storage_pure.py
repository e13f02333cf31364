"""Storage: retention plans, volume names and the instrument's LXD devices. Data in, data out."""

from __future__ import annotations

import pytest
from test_nftables import passive_deployment

from sensorlab import names
from sensorlab.errors import SensorlabError
from sensorlab.harness.lxdhost import appliance_config
from sensorlab.planner.retention import Entry, plan_sweep
from sensorlab.platform.instances import container_config
from sensorlab.platform.storage import Volume
from sensorlab.platform.volume_cli import _chosen

DAY = 86400
NOW = 1_800_000_000.0


def test_sweep_removes_exactly_the_files_older_than_the_policy() -> None:
    entries = [Entry("new.log", NOW - 10, 5), Entry("a/old.pcap", NOW - 3 * DAY, 100),
               Entry("edge", NOW - DAY, 7), Entry("b/older", NOW - 40 * DAY, 1)]
    plan = plan_sweep("ids", entries, NOW, DAY)
    assert [e.path for e in plan.remove] == ["a/old.pcap", "b/older"]
    assert plan.kept == 2 and plan.removed_bytes == 101
    assert plan.report()["removed"] == [
        {"path": "a/old.pcap", "mtime": NOW - 3 * DAY, "size": 100},
        {"path": "b/older", "mtime": NOW - 40 * DAY, "size": 1}]


def test_a_file_exactly_at_the_cutoff_is_kept_and_an_empty_volume_sweeps_nothing() -> None:
    assert plan_sweep("ids", [Entry("edge", NOW - DAY, 1)], NOW, DAY).remove == ()
    empty = plan_sweep("ids", [], NOW, DAY)
    assert empty.remove == () and empty.kept == 0 and empty.cutoff == NOW - DAY


def test_sweep_plan_is_deterministic_whatever_the_listing_order() -> None:
    entries = [Entry(f"f{i}", NOW - i * DAY, i) for i in range(10)]
    assert plan_sweep("x", entries, NOW, DAY) == plan_sweep("x", reversed(entries), NOW, DAY)


def test_a_non_positive_retention_is_refused_naming_the_instrument() -> None:
    with pytest.raises(ValueError, match="instrument ids"):
        plan_sweep("ids", [], NOW, 0)


def test_volume_paths_keep_keys_and_filesystems_apart_from_what_instruments_see() -> None:
    spec = passive_deployment("probe").instruments[0]
    volume = Volume.of(spec)
    assert volume.key == f"{names.KEYSTORE_DIR}/probe.key"
    assert volume.data == f"{names.VOLUMES_DIR}/probe/data"
    assert volume.mount == spec.storage.persistent_mount
    assert not volume.mount.startswith((names.KEYSTORE_DIR, names.VOLUMES_DIR))
    error = volume.error("it does not mount", hint="e2fsck")
    assert error.message.startswith(f"instrument probe: persistent volume {volume.image}: ")


def test_instrument_gets_its_own_volumes_and_is_started_by_the_platform_only() -> None:
    spec = passive_deployment("probe").instruments[0]
    config = container_config(spec)
    assert config["config"]["boot.autostart"] == "false"
    assert config["devices"]["persistent"] == {
        "type": "disk", "source": spec.storage.persistent_mount,
        "path": names.INSTRUMENT_PERSISTENT_DIR}
    assert config["devices"]["transient"] == {
        "type": "disk", "source": spec.storage.transient_mount,
        "path": names.INSTRUMENT_TRANSIENT_DIR}
    sources = [d.get("source", "") for d in config["devices"].values()]
    assert not any(s.startswith(names.KEYSTORE_DIR) for s in sources)


def test_appliance_may_use_loop_devices() -> None:
    config = appliance_config("sensorlab/appliance", {})
    assert config["devices"]["loop-control"]["type"] == "unix-char"
    assert "c 10:237 rwm" in config["config"]["raw.lxc"]


def test_volume_commands_name_an_unknown_instrument() -> None:
    deployment = passive_deployment("probe")
    with pytest.raises(SensorlabError, match="instrument nope is not in the deployment"):
        _chosen(deployment, "nope", True, "stop")
    with pytest.raises(SensorlabError, match="stop needs --instrument"):
        _chosen(deployment, None, True, "stop")
    assert [s.name for s in _chosen(deployment, None, False, "sweep")] == ["probe"]
