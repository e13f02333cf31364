"""The planner: instrument manifests + a sensor file -> everything the platform applies.

Pure and deterministic (reads its input files, nothing else), so every
isolation rule is tested with data alone. Public entry points:

* ``plan_sensor(path)`` and ``plan_manifests(paths)`` return a ``Plan``;
* ``plan_command(sensor, manifests, out)`` is the whole ``inv plan`` job.
"""

from __future__ import annotations

from pathlib import Path

from sensorlab.errors import ValidationError
from sensorlab.planner.plan import Plan, plan_manifests, plan_sensor

__all__ = ["Plan", "plan_command", "plan_manifests", "plan_sensor"]


def plan_command(sensor: str | None, manifests: list[str], out: str) -> None:
    """Plan ``sensor`` (or a sensor of just ``manifests``), write it to ``out``, print a summary.

    Raises ValidationError on bad input; nothing is written then.
    """
    if (sensor is None) == (not manifests):
        raise ValidationError(
            "give either --sensor FILE or one or more --manifest FILE",
            hint="inv plan --sensor sensors/lab.yaml --out build/plan",
        )
    plan = plan_sensor(Path(sensor)) if sensor is not None else plan_manifests(
        [Path(m) for m in manifests]
    )
    files = plan.files()
    plan.write(Path(out))
    deployment = plan.deployment
    print(f"planned sensor {deployment.sensor}: {len(deployment.instruments)} instruments, "
          f"{len(plan.helpers)} helpers, {len(files)} files in {out}")
    print(files["summary.txt"], end="")
