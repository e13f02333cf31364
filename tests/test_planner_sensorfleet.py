"""Every SensorFleet manifest loads unchanged and plans, with sensorlab's defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from plan_checks import check_nats, check_nft

from sensorlab.planner import plan_manifests
from sensorlab.planner.manifest import load_manifest
from sensorlab.spec import NetworkMode

HERE = Path(__file__).resolve().parent
VENDORED = HERE / "data" / "sensorfleet"
SHARED = HERE.parent.parent / "shared" / "sensorfleet"
MANIFESTS = sorted(VENDORED.glob("*.yaml"))
IDS = [p.stem for p in MANIFESTS]


def test_vendored_copies_are_unchanged() -> None:
    if not SHARED.is_dir():
        pytest.skip("../shared/sensorfleet is not beside this checkout")
    assert sorted(p.name for p in SHARED.glob("*.yaml")) == [p.name for p in MANIFESTS]
    for path in MANIFESTS:
        assert path.read_bytes() == (SHARED / path.name).read_bytes(), path.name


@pytest.mark.parametrize("path", MANIFESTS, ids=IDS)
def test_manifest_loads(path: Path) -> None:
    manifest = load_manifest(path)
    assert manifest.type == path.stem
    assert manifest.image.name == path.stem
    assert manifest.storage.persistent_bytes > 0


def _with_requirements(path: Path) -> list[Path]:
    """The manifest plus those of the types it requires (PassiveDNS needs suricata)."""
    required = [r.instrument_type for r in load_manifest(path).relations if r.required]
    return [path] + [VENDORED / f"{t}.yaml" for t in required]


@pytest.mark.parametrize("path", MANIFESTS, ids=IDS)
def test_manifest_plans(path: Path) -> None:
    plan = plan_manifests(_with_requirements(path))
    assert path.stem in plan.manifests
    assert plan.files()["nftables.nft"]


def test_all_manifests_plan_together() -> None:
    plan = plan_manifests(MANIFESTS)
    d = plan.deployment
    assert plan.helpers == ("capco",)
    assert {i.name: i.network for i in d.instruments} == {
        "cowrie": NetworkMode.ACTIVE,
        "downloader": NetworkMode.ACTIVE,
        "passivedns": NetworkMode.NONE,
        "suricata": NetworkMode.PASSIVE,
    }
    assert d.instrument("downloader").physical_nics[0].port == "up0"
    assert d.instrument("cowrie").bridged_nics[0].bridge == "slbr-prot"
    assert d.instrument("passivedns").ui is not None
    # PassiveDNS relates to suricata, so it reads Suricata's events; not the reverse.
    assert "instruments.suricata.ev.>" in d.instrument("passivedns").bus.subscribe
    assert not any("passivedns" in s for s in d.instrument("suricata").bus.subscribe
                   if not s.startswith(("sensorlab.", "_INBOX.")))
    files = plan.files()
    check_nft(files["nftables.nft"])
    check_nats(files["nats.conf"], d)
