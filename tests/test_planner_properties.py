"""Property: for any manifests and sensor file, planning either returns a plan
that passes every check, or raises sensorlab's ValidationError. Nothing else.

Inputs are mostly plausible with a steady share of mistakes (unknown words,
bad names, wrong shapes, broken YAML), so both outcomes are exercised. Every
valid plan is checked with the pure invariants and ``nats-server -t``; the
nft rulesets are checked in batches (one network namespace per batch keeps
``nft -c`` affordable).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from plan_checks import check_nats, check_nft

from sensorlab.errors import ValidationError
from sensorlab.planner import plan_sensor
from sensorlab.planner.invariants import problems

TYPES = ["ids", "dns", "hp", "dl", "probe", "capco", "rmgr", "Bad_T"]
NAMES = ["ids", "dns", "hp", "dl", "probe", "capco", "rmgr", "a", "b-2", "platform", "X", "a--b"]
PORTS = ["mon0", "mon1", "up0", "prot0", "dmz0", "slmir0", "bad port", "a" * 16]
TOKENS = ["instruments", "instrument", "ids", "dns", "ev", "alert", "x", "sensorlab", "_INBOX",
          "", "a b", "*"]

words = st.sampled_from
maybe = st.one_of


def fixed(
    required: dict[str, st.SearchStrategy[Any]],
    optional: dict[str, st.SearchStrategy[Any]] | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(required, optional=optional or {})


def _junk() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.integers(-3, 3), st.booleans(), st.text(max_size=4),
                     st.lists(st.integers(), max_size=2))


interfaces = fixed(
    {
        "type": maybe(words(["phy", "mirror-bridge", "bridge"]), words(["wifi", ""])),
        "capabilities": st.lists(maybe(words(["rx", "tx"]), words(["sniff"])), max_size=3),
    },
    optional={"description": st.text(max_size=5)},
)
events = fixed(
    {
        "match": st.builds(lambda ts, dot: ".".join(ts) + dot,
                           st.lists(words(TOKENS), min_size=1, max_size=4), words(["", "."])),
        "type": maybe(words(["exact", "prefix"]), words(["regex"])),
    },
    optional={"title": st.text(max_size=5)},
)
relations = fixed(
    {"instrument_type": words(TYPES)},
    optional={
        "required": maybe(st.booleans(), _junk()),
        "permissions": st.lists(words(["find", "direct_message", "read"]), max_size=2),
        "instrument_name": st.text(max_size=5),
    },
)
own_section = fixed(
    {},
    optional={
        "image": fixed({}, optional={
            "name": words(["img", "Bad Image", "passive-probe"]),
            "base": words(["alpine", "debian", "gentoo"]),
            "packages": st.lists(words(["busybox", "python3"]), max_size=2),
            "entrypoint": maybe(words(["/bin/sh"]), st.lists(words(["/bin/x", "-v"]), max_size=2)),
            "payload": st.lists(fixed(
                {"src": words(["p/x", "/etc/x", "../x"]), "dest": words(["/x", "x"])},
                optional={"mode": maybe(st.integers(-1, 0o7777), words(["rw"]))}), max_size=2),
        }),
        "storage": fixed({}, optional={
            k: words(["1GiB", "512MiB", "10 parsecs", "0", "5", "30d", "1w2d", "forever", "2G"])
            for k in ("persistent", "transient", "retention")
        }),
        "limits": fixed({}, optional={
            "cpu": maybe(st.integers(0, 300), _junk()),
            "memory": words(["256MiB", "1GiB", "1KiB", "lots"]),
            "processes": st.integers(0, 5000),
        }),
        "ui": fixed({}, optional={"port": maybe(st.integers(0, 70000), _junk())}),
        "imgae": _junk(),
    },
)
manifests = fixed(
    {
        "name": st.text(max_size=8),
        "network_access_type": maybe(words(["passive", "active", "None"]),
                                     words(["hybrid", None, "ACTIVE"])),
    },
    optional={
        "required_interfaces": st.lists(interfaces, max_size=3),
        "produced_event_types": st.lists(events, max_size=3),
        "relations": st.lists(relations, max_size=2),
        "has_ui": maybe(st.booleans(), words(["yes please"])),
        "sensorlab": own_section,
        "public": st.booleans(),
        "used_capabilities": st.lists(st.text(max_size=3), max_size=2),
    },
)
settings_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=6,
)
entries = st.one_of(st.none(), fixed({}, optional={
    "type": words(TYPES),
    "monitor": st.lists(words(PORTS), max_size=2),
    "bridge": words(["prot", "dmz", "nope"]),
    "address": words(["198.18.1.10/24", "198.18.1.11", "999.1.1.1", "fe80::1"]),
    "port": words(PORTS),
    "settings": maybe(st.dictionaries(st.text(max_size=4), settings_values, max_size=3), _junk()),
}))
sensors = fixed(
    {"instruments": st.dictionaries(words(NAMES), entries, min_size=1, max_size=6)},
    optional={
        "sensor": st.text(max_size=5),
        "ports": fixed({}, optional={
            "monitored": st.lists(words(PORTS), max_size=3), "upstream": words(PORTS)}),
        "bridges": st.dictionaries(words(["prot", "dmz", "Bad", "much-too-long-x"]),
                                   fixed({"port": words(PORTS)}), max_size=2),
        "manifests": st.just(["."]),
    },
)
VALID_TYPES = ["ids", "dns", "hp", "dl", "probe", "capco", "rmgr"]
SHAPES: dict[str, list[list[list[str]]]] = {  # access -> allowed capability lists
    "passive": [[], [["rx"]], [["rx"], ["rx"]]],
    "None": [[]],
    "active": [[], [["rx", "tx"]], [["rx"]]],
}


@st.composite
def clean_cases(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A sensor that should plan: each rule respected, values varied."""
    types = draw(st.lists(words(VALID_TYPES), min_size=1, max_size=6, unique=True))
    kinds: dict[str, Any] = {}
    for itype in types:
        access = draw(words(["passive", "None", "active"]))
        caps = draw(words(SHAPES[access]))
        kind = "mirror-bridge" if access == "passive" else "bridge"
        ifaces = [{"type": kind, "capabilities": c} for c in caps]
        if itype == "dl":
            access, ifaces = "active", [{"type": "phy", "capabilities": ["rx", "tx"]}]
        if itype == "capco":
            access, ifaces = "passive", [{"type": "phy", "capabilities": ["rx"]},
                                         {"type": "mirror-bridge", "capabilities": ["tx"]}]
        kinds[itype] = {
            "name": itype.upper(),
            "network_access_type": access,
            "required_interfaces": ifaces,
            "produced_event_types": [
                {"match": f"instruments.{itype}.{token}" + ("." if prefix else ""),
                 "type": "prefix" if prefix else "exact"}
                for token, prefix in draw(st.dictionaries(
                    words(["ev", "stats", "alert"]), st.booleans(), max_size=3)).items()
            ],
            "relations": [
                {"instrument_type": t, "required": t in types and draw(st.booleans()),
                 "permissions": draw(st.lists(words(["find", "direct_message"]), unique=True))}
                for t in draw(st.lists(words(VALID_TYPES + ["absent"]), max_size=3, unique=True))
            ],
            "has_ui": draw(st.booleans()),
            "sensorlab": {"storage": {"persistent": draw(words(["1GiB", "2G", "100MiB"])),
                                      "retention": draw(words(["30d", "1w2d", "12h"]))},
                          "limits": {"cpu": draw(st.integers(1, 8)),
                                     "processes": draw(st.integers(8, 4096))}},
        }
    bridge = draw(words(["prot", "dmz"]))
    instruments = {
        (itype if draw(st.booleans()) else f"{itype}-{i}"): {
            "type": itype,
            "settings": draw(st.dictionaries(st.text(max_size=4), settings_values, max_size=2)),
        }
        for i, itype in enumerate(types)
    }
    sensor = {
        "sensor": "generated",
        "manifests": ["."],
        "ports": {"monitored": draw(st.lists(words(["mon0", "mon1"]), min_size=1, unique=True)),
                  "upstream": "up0"},
        "bridges": {bridge: {"port": f"{bridge}0"}},
        "instruments": instruments,
    }
    return sensor, kinds


# Occasionally the text itself is broken: truncated, or a tab where YAML forbids one.
damage = st.one_of(st.none(), st.none(), st.none(), st.integers(0, 400), st.just("tab"))


def _text(data: Any, how: int | str | None) -> str:
    text = yaml.safe_dump(data, sort_keys=False)
    if how == "tab":
        return text.replace("  ", "\t", 1)
    return text[: how] if isinstance(how, int) else text


class Batch:
    """Valid plans waiting for the external tools."""

    def __init__(self) -> None:
        self.rulesets: list[str] = []
        self.valid = 0

    def add(self, ruleset: str) -> None:
        self.rulesets.append(ruleset)
        if len(self.rulesets) >= 150:
            self.flush()

    def flush(self) -> None:
        if not self.rulesets:
            return
        try:
            check_nft("".join(self.rulesets))
        except AssertionError:
            for ruleset in self.rulesets:  # name the one that failed
                check_nft(ruleset)
            raise
        self.rulesets = []


def test_planner_returns_a_checked_plan_or_a_validation_error() -> None:
    batch = Batch()

    messy = st.tuples(sensors, st.dictionaries(words(TYPES), manifests, max_size=6))

    @settings(max_examples=1000, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(case=st.one_of(clean_cases(), messy), damage=damage)
    def one(case: tuple[dict[str, Any], dict[str, Any]], damage: int | str | None) -> None:
        sensor, kinds = case
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for itype, manifest in kinds.items():
                (folder / f"{itype}.yaml").write_text(_text(manifest, None))
            (folder / "sensor.yaml").write_text(_text(sensor, damage))
            try:
                plan = plan_sensor(folder / "sensor.yaml")
                files = plan.files()
            except ValidationError as exc:
                assert exc.message.startswith(str(folder)), exc.message
                assert "\n" not in exc.message
                event("invalid")
                return
        event("valid")
        batch.valid += 1
        assert problems(plan.deployment) == []
        check_nats(files["nats.conf"], plan.deployment)
        batch.add(files["nftables.nft"])

    one()
    batch.flush()
    print(f"{batch.valid} valid plans of 1000 generated sensors")
    assert batch.valid >= 200, f"only {batch.valid} of 1000 generated sensors were valid"
