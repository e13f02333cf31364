"""Same inputs, same bytes: a clean rebuild elsewhere matches `inv build` to the sha256."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.conftest import unavailable
from sensorlab.harness import paths, repro

pytestmark = [pytest.mark.integration, pytest.mark.reproducible]


def test_clean_rebuild_is_bit_identical(tmp_path: Path) -> None:
    reference = repro.artifacts(paths.IMAGES) if paths.IMAGES.is_dir() else {}
    if not any(name.endswith(".tar") for name in reference):
        unavailable("nothing built: run `inv build` first")
    rebuilt = repro.rebuild(paths.APPLIANCE_RECIPE, paths.PACKAGE, paths.INSTRUMENTS,
                            paths.KEYS, paths.LOCKS, tmp_path / "second")
    results = repro.compare(reference, rebuilt)
    assert {r.artifact for r in results} >= {"appliance.tar", "appliance.spdx.json",
                                             "passive-probe.tar.gz", "passive-probe.spdx.json"}
    assert [r.artifact for r in results if not r.same] == []
