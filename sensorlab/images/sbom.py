"""SPDX 2.3 JSON software bills of materials, byte-for-byte reproducible.

Nothing in the document comes from the clock or the build directory:
``created`` is SOURCE_DATE_EPOCH and ``documentNamespace`` is derived from a
digest of the build inputs, so the same inputs give the same SBOM.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

NAMESPACE_BASE = "https://sensorlab.invalid/spdx"
CREATOR = "Tool: sensorlab"
_LICENSE = re.compile(r"^\(*[A-Za-z0-9.+-]+\)*(\s+(AND|OR|WITH)\s+\(*[A-Za-z0-9.+-]+\)*)*$")


@dataclass(frozen=True)
class SbomPackage:
    name: str
    version: str
    purl: str
    checksums: tuple[tuple[str, str], ...] = ()  # (SPDX algorithm, lowercase hex)
    license: str = ""
    supplier: str = ""  # e.g. "Organization: Alpine Linux"
    description: str = ""
    depends_on: tuple[str, ...] = ()  # names of other packages in the same document


def _purl_part(text: str) -> str:
    return urllib.parse.quote(text, safe=".-_~")


def apk_purl(vendor: str, name: str, version: str, arch: str) -> str:
    """``pkg:apk/alpine/busybox@1.36.1-r5?arch=x86_64``."""
    return (f"pkg:apk/{_purl_part(vendor)}/{_purl_part(name)}@{_purl_part(version)}"
            f"?arch={_purl_part(arch)}")


def deb_purl(name: str, version: str, arch: str, distro: str = "debian") -> str:
    """``pkg:deb/debian/busybox-static@1%3A1.35.0-4?arch=amd64``."""
    return (f"pkg:deb/{_purl_part(distro)}/{_purl_part(name)}@{_purl_part(version)}"
            f"?arch={_purl_part(arch)}")


def spdx_id(kind: str, text: str) -> str:
    return f"SPDXRef-{kind}-" + re.sub(r"[^A-Za-z0-9.-]", "-", text)


def spdx_license(text: str) -> str:
    """An SPDX expression as declared, or NOASSERTION if it is not one."""
    return text if text and _LICENSE.match(text.strip()) else "NOASSERTION"


def _package(pkg: SbomPackage, ident: str) -> dict[str, object]:
    entry: dict[str, object] = {
        "SPDXID": ident,
        "name": pkg.name,
        "versionInfo": pkg.version,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": spdx_license(pkg.license),
        "copyrightText": "NOASSERTION",
        "supplier": pkg.supplier or "NOASSERTION",
        "externalRefs": [{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": pkg.purl,
        }],
    }
    if pkg.checksums:
        entry["checksums"] = [{"algorithm": algo, "checksumValue": value}
                              for algo, value in sorted(pkg.checksums)]
    if pkg.description:
        entry["description"] = pkg.description
    return entry


def render_spdx(image: str, packages: Sequence[SbomPackage], *, created_epoch: int,
                inputs_digest: str, image_version: str = "", comment: str = "") -> str:
    """The SBOM of one image: the image as the described package, containing the rest."""
    image_id = spdx_id("Image", image)
    ids: dict[str, str] = {}
    for pkg in sorted(packages, key=lambda p: (p.name, p.version)):
        ident = spdx_id("Package", f"{pkg.name}-{pkg.version}")
        while ident in ids.values():
            ident += "-x"
        ids[pkg.name] = ident
    relationships: list[dict[str, str]] = [
        {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
         "relatedSpdxElement": image_id},
    ]
    for pkg in packages:
        relationships.append({"spdxElementId": image_id, "relationshipType": "CONTAINS",
                              "relatedSpdxElement": ids[pkg.name]})
        for dep in sorted(set(pkg.depends_on)):
            if dep in ids:
                relationships.append({"spdxElementId": ids[pkg.name],
                                      "relationshipType": "DEPENDS_ON",
                                      "relatedSpdxElement": ids[dep]})
    image_entry: dict[str, object] = {
        "SPDXID": image_id, "name": image, "versionInfo": image_version or inputs_digest[:12],
        "downloadLocation": "NOASSERTION", "filesAnalyzed": False,
        "licenseConcluded": "NOASSERTION", "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION", "primaryPackagePurpose": "CONTAINER",
    }
    created = datetime.fromtimestamp(created_epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    doc: dict[str, object] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{image} image",
        "documentNamespace": f"{NAMESPACE_BASE}/{image}-{inputs_digest}",
        "creationInfo": {"created": created, "creators": [CREATOR]},
        "packages": [image_entry] + [_package(p, ids[p.name]) for p in
                                     sorted(packages, key=lambda p: p.name)],
        "relationships": sorted(relationships, key=lambda r: (
            r["spdxElementId"], r["relationshipType"], r["relatedSpdxElement"])),
    }
    if comment:
        doc["comment"] = comment
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"
