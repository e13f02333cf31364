"""The human summary: instruments × network × storage × bus rights."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sensorlab.planner.units import format_period, format_size
from sensorlab.spec import InstrumentSpec

if TYPE_CHECKING:
    from sensorlab.planner.plan import Plan


def _network(spec: InstrumentSpec, feeds: dict[str, list[str]]) -> str:
    parts = [f"{n.name}<-{'+'.join(feeds.get(n.bridge, [n.bridge]))} (rx only)" for n in spec.nics]
    parts += [f"{n.name}@{n.bridge} ({'MAC/IP' if n.address else 'MAC'} filtered)"
              for n in spec.bridged_nics]
    parts += [f"{n.name}=port {n.port}" for n in spec.physical_nics]
    return f"{spec.network}: {', '.join(parts)}" if parts else f"{spec.network}: no NIC"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
           for row in rows]
    out.insert(1, "  ".join("-" * w for w in widths))
    return out


def render_summary(plan: Plan) -> str:
    deployment = plan.deployment
    feeds: dict[str, list[str]] = {}
    for mirror in deployment.mirrors:
        for bridge in mirror.bridges:
            feeds.setdefault(bridge, []).append(mirror.port)
    rows = [["instrument", "type", "network", "storage (persistent/transient/retention)",
             "bus publish", "bus subscribe", "ui"]]
    for spec in deployment.instruments:
        s = spec.storage
        rows.append([
            spec.name, spec.type, _network(spec, feeds),
            f"{format_size(s.persistent_bytes)}/{format_size(s.transient_bytes)}/"
            f"{format_period(s.retention_seconds)}",
            str(len(spec.bus.publish)), str(len(spec.bus.subscribe)),
            spec.ui.route if spec.ui else "-",
        ])
    for name in plan.helpers:
        ports = ", ".join(m.port for m in deployment.mirrors) or "no monitored port in use"
        rows.append([name, plan.manifests[name].type, f"helper: platform nft dup ({ports})",
                     "-", "-", "-", "-"])
    lines = [f"sensor {deployment.sensor}: {len(deployment.instruments)} instruments, "
             f"{len(plan.helpers)} platform helpers", ""]
    lines += _table(rows)
    lines += ["", "bus rights (allow lists; everything else is denied):"]
    for spec in deployment.instruments:
        lines.append(f"  {spec.name}")
        lines.append(f"    publish:   {' '.join(spec.bus.publish)}")
        lines.append(f"    subscribe: {' '.join(spec.bus.subscribe)}")
    lines += [f"bridge {b.name} on port {b.port}" for b in deployment.bridges]
    return "\n".join(lines) + "\n"
