"""Integration fixtures: the real LXD, nftables and namespaces, never mocks.

A missing prerequisite skips on a laptop but fails when CI=true, so CI can
never go green by skipping the proofs.
"""

from __future__ import annotations

import os
import uuid
from typing import NoReturn

import pytest

from sensorlab.errors import SensorlabError
from sensorlab.harness import deploy, paths
from sensorlab.spec import Deployment

IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(why: str) -> NoReturn:
    if IN_CI:
        pytest.fail(f"{why} (CI=true: a missing prerequisite is a failure)", pytrace=False)
    pytest.skip(why)


@pytest.fixture(scope="session")
def deployment() -> Deployment:
    """The deployment `inv deploy` made, after checking the appliance is running it."""
    if os.geteuid() != 0:
        unavailable("integration tests need root")
    try:
        current = deploy.deployed(paths.STATE)
    except SensorlabError as exc:
        unavailable(exc.message)
    if current is None:
        unavailable("nothing is deployed: run `inv deploy` first")
    status = deploy.platform_status()
    instruments = status["instruments"]
    assert isinstance(instruments, dict)
    for spec in current.instruments:
        if instruments[spec.name]["status"] != "Running":
            unavailable(f"instrument {spec.name} is not running: {instruments[spec.name]}")
    return current


@pytest.fixture
def tag() -> str:
    """A fresh UUID for one test's probes, so sniffers count only this test's frames."""
    return str(uuid.uuid4())
