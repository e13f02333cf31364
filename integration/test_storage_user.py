"""An instrument's payload runs as its `instrument` user, not root: it can use its volumes."""

from __future__ import annotations

import pytest

from integration.storage_helpers import appliance, pair
from sensorlab import names
from sensorlab.spec import Deployment

pytestmark = [pytest.mark.integration, pytest.mark.storage]


def test_payload_user_writes_its_own_volumes(deployment: Deployment) -> None:
    a, _ = pair(deployment)
    uid = str(names.INSTRUMENT_UID)
    for directory in (names.INSTRUMENT_PERSISTENT_DIR, names.INSTRUMENT_TRANSIENT_DIR):
        path = f"{directory}/by-payload"
        proc = appliance("lxc", "exec", a.container, "--user", uid, "--group", uid, "--",
                         "sh", "-c", f"echo ok > {path} && cat {path} && rm {path}", check=False)
        assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
