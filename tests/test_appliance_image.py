"""The appliance image's pure parts: dpkg status parsing and .deb naming for the SBOM."""

from __future__ import annotations

from pathlib import Path

from sensorlab.images.appliance import deb_file_name, parse_dpkg_status

STATUS = """Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u14
Depends: libgcc-s1
Description: GNU C Library
 multi-line description

Package: removed-thing
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b8
Depends: base-files (>= 2.1.12), debianutils (>= 5.6-0.1)
"""


def test_only_installed_packages_sorted_by_name() -> None:
    parsed = parse_dpkg_status(STATUS)
    assert [p["Package"] for p in parsed] == ["bash", "libc6"]
    assert parsed[1]["Description"] == "GNU C Library"


def test_deb_file_names_escape_the_epoch() -> None:
    assert deb_file_name("dbus", "1:1.14.10-1", "amd64") == "dbus_1%3a1.14.10-1_amd64.deb"
    assert deb_file_name("bash", "5.2.15-2+b8", "amd64") == "bash_5.2.15-2+b8_amd64.deb"


def test_units_the_platform_restarts_never_hit_the_start_limit() -> None:
    # A deploy restarts the bus and the tap; back-to-back deploys must not trip
    # systemd's default "5 starts in 10 s" limit (a CI run failed on exactly that).
    units = Path(__file__).resolve().parent.parent / "platform/appliance/rootfs/etc/systemd/system"
    restarted = sorted(
        p for p in units.rglob("*") if p.is_file() and "Restart=always" in p.read_text()
    )
    assert restarted, "no unit with Restart=always found"
    for unit in restarted:
        assert "StartLimitIntervalSec=0" in unit.read_text(), unit.name
