"""Every file in a plan directory, rendered from a Plan, and how they are written."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sensorlab.nftables import render_ruleset
from sensorlab.planner.render_lxd import profile
from sensorlab.planner.render_nats import render_nats
from sensorlab.planner.summary import render_summary

if TYPE_CHECKING:
    from sensorlab.planner.plan import Plan

LXD_DIR = "lxd"


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _yaml(data: Mapping[str, Any], indent: str = "") -> str:
    """Block YAML for nested mappings of strings (LXD profiles).

    Every scalar is written as a JSON string, which is a valid YAML
    double-quoted scalar: no value can be misread as a number or boolean, and
    the output does not depend on which YAML emitter is installed.
    """
    lines = []
    for key in sorted(data):
        value = data[key]
        if isinstance(value, Mapping):
            lines.append(f"{indent}{key}:\n" + (_yaml(value, indent + "  ") if value
                                                else f"{indent}  {{}}\n"))
        else:
            lines.append(f"{indent}{key}: {json.dumps(str(value))}\n")
    return "".join(lines)


def storage_plan(plan: Plan) -> dict[str, Any]:
    return {
        spec.name: {
            "persistent_bytes": spec.storage.persistent_bytes,
            "persistent_image": spec.storage.persistent_image,
            "persistent_mount": spec.storage.persistent_mount,
            "transient_bytes": spec.storage.transient_bytes,
            "transient_mount": spec.storage.transient_mount,
            "retention_seconds": spec.storage.retention_seconds,
        }
        for spec in plan.deployment.instruments
    }


def ui_routes(plan: Plan) -> list[dict[str, Any]]:
    return [
        {"route": spec.ui.route, "socket": spec.ui.socket, "instrument": spec.name,
         "port": spec.ui.port}
        for spec in plan.deployment.instruments
        if spec.ui is not None
    ]


def images(plan: Plan) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in sorted(plan.manifests):
        if name in plan.helpers:
            continue
        image = plan.manifests[name].image
        found[image.name] = {
            "type": plan.manifests[name].type,
            "base": image.base.value,
            "packages": list(image.packages),
            "payload": [{"src": p.src, "dest": p.dest, "mode": f"{p.mode:04o}"}
                        for p in image.payload],
            "entrypoint": list(image.entrypoint),
            "user": image.user,
        }
    return found


def render_files(plan: Plan) -> dict[str, str]:
    deployment = plan.deployment
    files = {
        "deployment.json": deployment.to_json(),
        "nftables.nft": render_ruleset(deployment),
        "nats.conf": render_nats(deployment),
        "storage.json": _json(storage_plan(plan)),
        "ui-routes.json": _json(ui_routes(plan)),
        "images.json": _json(images(plan)),
        "summary.txt": render_summary(plan),
    }
    for spec in deployment.instruments:
        files[f"{LXD_DIR}/{spec.name}.yaml"] = _yaml(profile(spec))
    return dict(sorted(files.items()))


def write_files(files: dict[str, str], out_dir: Path) -> None:
    """Write the plan; stale profiles from an earlier plan in the same folder are removed."""
    (out_dir / LXD_DIR).mkdir(parents=True, exist_ok=True)
    for old in (out_dir / LXD_DIR).glob("*.yaml"):
        if f"{LXD_DIR}/{old.name}" not in files:
            old.unlink()
    for relative, text in files.items():
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
