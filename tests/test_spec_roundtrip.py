"""Deployment JSON round-trips every field, and older specs still load."""

from __future__ import annotations

import json

import pytest

from sensorlab.errors import ValidationError
from sensorlab.spec import (
    BridgedNic,
    BridgeSpec,
    BusAccess,
    Deployment,
    InstrumentSpec,
    Limits,
    MirrorNic,
    MirrorSpec,
    NetworkMode,
    PhysicalNic,
    StorageSpec,
    UiSpec,
)


def _full() -> Deployment:
    return Deployment(
        instruments=(
            InstrumentSpec(
                name="a", type="t", container="sl-i-a", image="t", network=NetworkMode.ACTIVE,
                nics=(MirrorNic("eth0", "slmir0", "slv1", "slc1", "02:00:00:00:00:01", "g"),),
                limits=Limits(cpu=2, memory="1GiB", processes=99),
                bridged_nics=(BridgedNic("eth1", "slbr-x", "slv2", "slc2", "02:00:00:00:00:02",
                                         "f", "198.18.0.2/24"),),
                physical_nics=(PhysicalNic("eth2", "up0"),),
                storage=StorageSpec(1, 2, 3, "/i", "/p", "/t"),
                bus=BusAccess("a", ("x.>",), ("y",), "_INBOX.a"),
                ui=UiSpec(8080, "/run/a.sock", "/instruments/a/"),
                settings='{"k":1}',
            ),
            InstrumentSpec(name="b", type="t", container="sl-i-b", image="t",
                           network=NetworkMode.NONE),
        ),
        mirror_bridges=("slmir0",),
        mirrors=(MirrorSpec("mon0", ("slmir0",), "capco_mon0"),),
        bridges=(BridgeSpec("slbr-x", "prot0"),),
        sensor="s",
    )


def test_round_trip_keeps_every_field() -> None:
    deployment = _full()
    assert Deployment.from_json(deployment.to_json()) == deployment


def test_spec_without_new_fields_still_loads() -> None:
    raw = json.loads(_full().to_json())
    for key in ("bridges", "sensor"):
        del raw[key]
    for instrument in raw["instruments"]:
        for key in ("bridged_nics", "physical_nics", "storage", "bus", "ui", "settings"):
            del instrument[key]
    loaded = Deployment.from_json(json.dumps(raw))
    assert loaded.bridges == () and loaded.instruments[0].ui is None


def test_bad_spec_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        Deployment.from_json('{"instruments": [{"name": 1}], "mirrors": [], '
                             '"mirror_bridges": []}')
    with pytest.raises(ValidationError):
        Deployment.from_json("[]")
