"""The bus subject scheme: the one place that decides who may say what to whom.

See docs/bus.md for the scheme and the reasoning. Event subjects are the
SensorFleet ``match`` strings themselves, so an instrument written for
SensorFleet publishes where it always did. Everything else lives under the
reserved ``sensorlab.`` and ``_INBOX.`` roots, and every subject that comes
from an instrument carries the sender's name in a position only that sender
may publish to, so no instrument can pose as another.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sensorlab.names import PLATFORM_BUS_USER, bus_user
from sensorlab.spec import BusAccess

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
RESERVED_ROOTS = frozenset({"sensorlab", "_INBOX"})
MAX_SUBJECT = 255


# --- subjects -----------------------------------------------------------------
def event_subject(match: str, prefix: bool) -> str:
    """A declared event type as a NATS subject; a prefix covers whole tokens below it."""
    base = match[:-1] if match.endswith(".") else match
    return f"{base}.>" if prefix else base


def event_match_problem(match: str, prefix: bool) -> str | None:
    """Why ``match`` cannot be an event subject, or None if it can."""
    base = match[:-1] if prefix and match.endswith(".") else match
    tokens = base.split(".")
    if len(base) > MAX_SUBJECT or not all(_TOKEN.match(token) for token in tokens):
        return (
            f"event match {match!r} is not a subject: dot-separated tokens of letters, "
            "digits, '_' and '-' (a prefix may end with '.')"
        )
    if tokens[0] in RESERVED_ROOTS:
        return f"event match {match!r} uses the reserved root {tokens[0]!r}"
    return None


def dm_subject(recipient: str, sender: str) -> str:
    return f"sensorlab.dm.{recipient}.{sender}"


def command_subject(instrument: str) -> str:
    return f"sensorlab.cmd.{instrument}"


def platform_subject(instrument: str, verb: str) -> str:
    """Requests from an instrument to the platform (status, find, download, ...)."""
    return f"sensorlab.platform.{instrument}.{verb}"


def find_subject(instrument: str, instrument_type: str) -> str:
    return platform_subject(instrument, f"find.{instrument_type}")


def inbox_prefix(instrument: str) -> str:
    """Pass as nats-py's ``inbox_prefix``: replies to this instrument land only here."""
    return f"_INBOX.{instrument}"


# --- matching (NATS semantics: '*' one token, '>' one or more at the end) ------
def covers(pattern: str, subject: str) -> bool:
    """True if every subject matched by ``subject`` (wildcards allowed) matches ``pattern``."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have):
            return False
        if token == "*":
            if have[i] == ">":
                return False
            continue
        if token != have[i]:
            return False
    return len(have) == len(want)


def overlap(a: str, b: str) -> bool:
    """True if some literal subject matches both patterns (ours use only a trailing '>')."""
    ta, tb = a.split("."), b.split(".")
    for i in range(max(len(ta), len(tb))):
        x = ta[i] if i < len(ta) else None
        y = tb[i] if i < len(tb) else None
        if x == ">" or y == ">":
            return x is not None and y is not None
        if x is None or y is None:
            return False
        if x != y and "*" not in (x, y):
            return False
    return True


def allowed(rights: Iterable[str], subject: str) -> bool:
    return any(covers(pattern, subject) for pattern in rights)


# --- who may do what ------------------------------------------------------------
@dataclass(frozen=True)
class Party:
    """What the bus needs to know about one instrument."""

    name: str
    type: str
    events: tuple[str, ...]  # subjects, from event_subject()
    reads: frozenset[str]  # types it has a relation to: may subscribe to their events
    finds: frozenset[str]  # types with the `find` permission
    messages: frozenset[str]  # types with the `direct_message` permission


def access(parties: Iterable[Party]) -> Mapping[str, BusAccess]:
    """Publish/subscribe allow lists per instrument, from declarations alone."""
    everyone = sorted(parties, key=lambda p: p.name)
    by_type: dict[str, list[Party]] = {}
    for party in everyone:
        by_type.setdefault(party.type, []).append(party)
    result: dict[str, BusAccess] = {}
    for me in everyone:

        def others(types: frozenset[str], me: Party = me) -> list[Party]:
            return [p for t in sorted(types) for p in by_type.get(t, []) if p.name != me.name]

        publish = [
            *me.events,
            platform_subject(me.name, "status"),
            platform_subject(me.name, "request.>"),
            *(find_subject(me.name, t) for t in sorted(me.finds)),
            *(dm_subject(p.name, me.name) for p in others(me.messages)),
        ]
        subscribe = [
            *(event for p in others(me.reads) for event in p.events),
            dm_subject(me.name, ">"),
            command_subject(me.name),
            command_subject(me.name) + ".>",
            inbox_prefix(me.name) + ".>",
        ]
        result[me.name] = BusAccess(
            user=bus_user(me.name),
            publish=tuple(dict.fromkeys(publish)),
            subscribe=tuple(dict.fromkeys(subscribe)),
            inbox=inbox_prefix(me.name),
        )
    return result


def platform_access() -> BusAccess:
    """The platform is the trusted control plane: it commands, answers and watches all."""
    return BusAccess(
        user=PLATFORM_BUS_USER, publish=(">",), subscribe=(">",), inbox="_INBOX.platform"
    )
