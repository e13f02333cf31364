"""``inv clean``: remove every LXD object, namespace and link sensorlab made."""

from __future__ import annotations

import shutil
from pathlib import Path

from sensorlab import log
from sensorlab.harness import lxdhost, segments


def clean(state_dir: Path, images_dir: Path | None = None) -> list[str]:
    """Returns what was removed. Anything already gone counts as success."""
    removed: list[str] = []
    if lxdhost.delete_project():
        removed.append("LXD project sensorlab (appliance, images, profiles)")
    for ns in segments.existing():
        segments.remove(ns.split("-", 1)[1])
        removed.append(f"netns {ns}")
    for link in segments.leftover_links():
        segments.delete_link(link)
        removed.append(f"link {link}")
    if state_dir.exists():
        shutil.rmtree(state_dir)
        removed.append(f"state {state_dir}")
    if images_dir is not None and images_dir.exists():
        shutil.rmtree(images_dir)
        removed.append(f"images {images_dir}")
    for item in removed:
        log.info(f"removed {item}")
    return removed


def leftovers() -> list[str]:
    """What of sensorlab still exists: the LXD project, namespaces, host links."""
    left = ["LXD project sensorlab"] if lxdhost.project_exists() else []
    left += [f"netns {ns}" for ns in segments.existing()]
    left += [f"link {link}" for link in segments.leftover_links()]
    return left
