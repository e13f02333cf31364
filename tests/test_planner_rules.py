"""Each planning rule on its own, with small inline data."""

from __future__ import annotations

from pathlib import Path

import pytest

from sensorlab import names
from sensorlab.planner import bus, plan_sensor
from sensorlab.planner.source import parse
from sensorlab.planner.units import format_period, format_size, parse_period, parse_size
from sensorlab.spec import NetworkMode

PASSIVE = "network_access_type: passive\nrequired_interfaces:\n" \
          "  - {type: mirror-bridge, capabilities: [rx]}\n"
BRIDGE_RX = "network_access_type: active\nrequired_interfaces:\n" \
            "  - {type: bridge, capabilities: [rx]}\n"
NONE = "network_access_type: None\n"


def _sensor(tmp: Path, sensor: str, **manifests: str) -> Path:
    for itype, text in manifests.items():
        (tmp / f"{itype}.yaml").write_text(text)
    (tmp / "sensor.yaml").write_text("manifests: [.]\n" + sensor)
    return tmp / "sensor.yaml"


@pytest.mark.parametrize(("text", "value"), [
    ("512MiB", 512 << 20), ("2G", 2 * 10**9), ("1gib", 1 << 30), ("4096", 4096), ("1 KiB", 1024),
])
def test_sizes(text: str, value: int) -> None:
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "0", "1.5GiB", "10 parsecs", "-1G", "2PiB"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


@pytest.mark.parametrize(("text", "value"), [("30d", 30 * 86400), ("1w2d", 9 * 86400),
                                             ("12h", 43200), ("90m", 5400), ("1d 12h", 129600)])
def test_periods(text: str, value: int) -> None:
    assert parse_period(text) == value


@pytest.mark.parametrize("text", ["", "forever", "30", "d", "0s", "3y", "1d-2h"])
def test_bad_periods(text: str) -> None:
    with pytest.raises(ValueError):
        parse_period(text)


def test_formats() -> None:
    sizes = [format_size(v) for v in (1 << 30, 3 << 20, 3072, 1536)]
    assert sizes == ["1GiB", "3MiB", "3KiB", "1536B"]
    assert [format_period(v) for v in (14 * 86400, 86400, 5400, 7)] == ["2w", "1d", "90m", "7s"]


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("instruments.a.ev.>", "instruments.a.ev.alert", True),
    ("instruments.a.ev.>", "instruments.a.ev", False),
    ("instruments.a.>", "instruments.a.ev.>", True),
    ("instruments.a.x", "instruments.a.x", True),
    ("instruments.a.x", "instruments.a.y", False),
    ("instruments.a.*", "instruments.a.y", True),
])
def test_overlap(a: str, b: str, expected: bool) -> None:
    assert bus.overlap(a, b) is expected and bus.overlap(b, a) is expected


def test_covers_follows_nats_wildcards() -> None:
    assert bus.covers("a.>", "a.b.c") and not bus.covers("a.>", "a")
    assert bus.covers("a.*.c", "a.b.c") and not bus.covers("a.*", "a.>")
    assert bus.covers("a.b.>", "a.b.>") and not bus.covers("a.b.>", "a.>")


def test_prefix_events_cover_whole_tokens() -> None:
    assert bus.event_subject("instruments.x.ev.", prefix=True) == "instruments.x.ev.>"
    assert bus.event_subject("instruments.x.ev", prefix=True) == "instruments.x.ev.>"
    assert bus.event_subject("instruments.x.warn", prefix=False) == "instruments.x.warn"


def test_relation_rights_are_one_way_and_carry_the_sender() -> None:
    ids = bus.Party("ids", "suricata", ("instruments.suricata.ev.>",), frozenset(),
                    frozenset(), frozenset())
    mgr = bus.Party("mgr", "rmgr", ("instruments.rmgr.x",), frozenset({"suricata"}),
                    frozenset({"suricata"}), frozenset({"suricata"}))
    rights = bus.access([ids, mgr])
    assert bus.allowed(rights["mgr"].subscribe, "instruments.suricata.ev.alert")
    assert not bus.allowed(rights["ids"].subscribe, "instruments.rmgr.x")
    assert bus.allowed(rights["mgr"].publish, "sensorlab.dm.ids.mgr")
    assert not bus.allowed(rights["ids"].publish, "sensorlab.dm.mgr.ids")
    assert bus.allowed(rights["mgr"].publish, "sensorlab.platform.mgr.find.suricata")
    assert not bus.allowed(rights["ids"].publish, "sensorlab.platform.ids.find.rmgr")
    assert bus.allowed(rights["ids"].subscribe, "sensorlab.dm.ids.mgr")
    assert not bus.allowed(rights["mgr"].subscribe, "sensorlab.dm.ids.mgr")
    for me, other in (("ids", "mgr"), ("mgr", "ids")):
        assert rights[me].inbox == f"_INBOX.{me}"
        assert bus.allowed(rights[me].subscribe, f"_INBOX.{me}.abc")
        assert not bus.allowed(rights[me].subscribe, f"_INBOX.{other}.abc")
        assert not bus.allowed(rights[me].publish, f"sensorlab.platform.{other}.status")
        assert not bus.allowed(rights[me].publish, f"sensorlab.cmd.{me}")


def test_no_network_means_no_nic(tmp_path: Path) -> None:
    path = _sensor(tmp_path, "instruments:\n  n: {}\n", n=NONE)
    spec = plan_sensor(path).deployment.instrument("n")
    assert spec.network == NetworkMode.NONE
    assert not (spec.nics or spec.bridged_nics or spec.physical_nics)
    assert "guard_" not in plan_sensor(path).files()["nftables.nft"]


def test_rx_only_bridge_nic_is_guarded(tmp_path: Path) -> None:
    path = _sensor(tmp_path, "bridges: {prot: {port: prot0}}\ninstruments:\n  r: {}\n",
                   r=BRIDGE_RX)
    spec = plan_sensor(path).deployment.instrument("r")
    (nic,) = spec.nics
    assert nic.bridge == names.active_bridge("prot") and spec.bridged_nics == ()
    assert "rx-only NIC, receive only" in plan_sensor(path).files()["nftables.nft"]


def test_capture_engine_is_a_helper_not_a_container(tmp_path: Path) -> None:
    capco = (Path(__file__).parent / "data" / "sensorfleet" / "capco.yaml").read_text()
    path = _sensor(tmp_path, "ports: {monitored: [mon0]}\ninstruments:\n  capco: {}\n  p: {}\n",
                   capco=capco, p=PASSIVE)
    plan = plan_sensor(path)
    assert plan.helpers == ("capco",)
    assert [i.name for i in plan.deployment.instruments] == ["p"]


def test_monitor_chooses_which_ports_feed_a_mirror_bridge(tmp_path: Path) -> None:
    path = _sensor(tmp_path, "ports: {monitored: [mon0, mon1]}\ninstruments:\n"
                   "  a: {type: p, monitor: [mon1]}\n  b: {type: p}\n", p=PASSIVE)
    mirrors = {m.port: m.bridges for m in plan_sensor(path).deployment.mirrors}
    assert mirrors == {"mon0": ("slmir1",), "mon1": ("slmir0", "slmir1")}


def test_reordering_the_sensor_file_changes_nothing(tmp_path: Path) -> None:
    one = _sensor(tmp_path, "ports: {monitored: [mon0]}\ninstruments:\n"
                  "  a: {type: p}\n  b: {type: p}\n", p=PASSIVE)
    first = plan_sensor(one).files()
    one.write_text("manifests: [.]\nports: {monitored: [mon0]}\ninstruments:\n"
                   "  b: {type: p}\n  a: {type: p}\n")
    assert plan_sensor(one).files() == first


def test_line_numbers_reach_nested_fields() -> None:
    _, source = parse("a:\n  b:\n    - x\n    - {c: 1}\n", "f.yaml")
    assert source.line(("a", "b", 1, "c")) == 4
    assert source.line(("a", "b", 0)) == 3
    assert source.line(("a", "missing")) == 1
    assert str(source.error(("a", "b", 1, "c"), "bad")) == "f.yaml:4: a.b[1].c: bad"
