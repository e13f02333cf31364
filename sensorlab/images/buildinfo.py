"""Build manifests: which inputs and tools made an image, and what came out.

Recorded as sorted JSON without paths or clock times, so the manifest is
itself reproducible and two builds can be compared with ``diff``.
"""

from __future__ import annotations

import hashlib
import json
import platform
import zlib
from collections.abc import Mapping
from pathlib import Path

import cryptography

import sensorlab

MANIFEST_VERSION = 1


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_digest() -> str:
    """Digest of the image-building code, so a change to it counts as a changed input."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def tool_versions() -> dict[str, str]:
    # zlib's version matters: it decides the compressed bytes.
    return {
        "sensorlab": sensorlab.__version__,
        "sensorlab-images-source": source_digest(),
        "python": platform.python_version(),
        "cryptography": cryptography.__version__,
        "zlib": zlib.ZLIB_RUNTIME_VERSION,
    }


def canonical_json(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def inputs_digest(inputs: Mapping[str, object], tools: Mapping[str, str]) -> str:
    return hashlib.sha256(canonical_json({"inputs": inputs, "tools": tools}).encode()).hexdigest()


def render_manifest(image: str, epoch: int, digest: str, inputs: Mapping[str, object],
                    tools: Mapping[str, str], outputs: Mapping[str, str]) -> str:
    """``digest`` is what a later build compares to decide whether to skip."""
    return canonical_json({
        "manifest_version": MANIFEST_VERSION,
        "image": image,
        "source_date_epoch": epoch,
        "inputs_digest": digest,
        "inputs": inputs,
        "tools": tools,
        "outputs": dict(outputs),
    })


def up_to_date(manifest: Path, digest: str) -> bool:
    """Were the outputs beside ``manifest`` built from inputs with ``digest``, and intact?"""
    if not manifest.is_file():
        return False
    try:
        recorded = json.loads(manifest.read_text())
    except ValueError:
        return False
    if recorded.get("inputs_digest") != digest:
        return False
    outputs = recorded.get("outputs", {})
    return bool(outputs) and all(
        (manifest.parent / name).is_file() and sha256_file(manifest.parent / name) == sha
        for name, sha in outputs.items()
    )
