"""YAML with line numbers: every value remembers where it was written.

PyYAML's composer keeps a start mark on each node; we build plain Python
values from the nodes ourselves so that a validation error can name the file,
the line and the field (``sensor.yaml:12: instruments.ids.bridge: ...``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import yaml

from sensorlab.errors import ValidationError

Key = str | int
FieldPath = tuple[Key, ...]

# libyaml's composer is ~10x faster and keeps the same marks.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Source:
    """One loaded YAML file: its name for messages and where each field sits."""

    name: str
    lines: dict[FieldPath, int]

    def line(self, at: FieldPath) -> int:
        # Fall back to the nearest enclosing field that has a recorded line.
        for end in range(len(at), -1, -1):
            found = self.lines.get(at[:end])
            if found is not None:
                return found
        return 1

    def error(self, at: FieldPath, message: str, hint: str | None = None) -> ValidationError:
        where = f"{self.name}:{self.line(at)}"
        field = dotted(at)
        text = f"{where}: {field}: {message}" if field else f"{where}: {message}"
        return ValidationError(text, hint=hint)


def dotted(at: FieldPath) -> str:
    text = ""
    for key in at:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else key)
    return text


def _fail(source: Source, at: FieldPath, line: int, message: str) -> NoReturn:
    source.lines[at] = line
    raise source.error(at, message)


def _build(loader: Any, node: yaml.Node, source: Source, at: FieldPath) -> Any:
    line = node.start_mark.line + 1
    source.lines.setdefault(at, line)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                _fail(source, at, key_line, "mapping keys must be plain strings")
            key = loader.construct_object(key_node)
            if not isinstance(key, str):
                _fail(source, at, key_line, f"mapping key {key!r} must be a string")
            if key in result:
                first = source.lines[(*at, key)]
                _fail(source, (*at, key), key_line, f"duplicate key (first given on line {first})")
            source.lines[(*at, key)] = key_line
            result[key] = _build(loader, value_node, source, (*at, key))
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, source, (*at, i)) for i, item in enumerate(node.value)]
    return loader.construct_object(node)


def parse(text: str, name: str) -> tuple[Any, Source]:
    """Parse one YAML document; raise ValidationError naming the line on bad YAML."""
    source = Source(name=name, lines={})
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else _build(loader, node, source, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "not valid YAML"
        raise ValidationError(f"{name}:{line}: not valid YAML: {problem}") from exc
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        raise ValidationError(f"{name}:1: not valid YAML: {exc}") from exc
    finally:
        loader.dispose()
    return data, source


def load(path: Path) -> tuple[Any, Source]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ValidationError(f"{path}: file not found") from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValidationError(f"{path}: cannot read: {exc}") from exc
    return parse(text, str(path))


@dataclass(frozen=True)
class View:
    """A value plus where it came from, with typed accessors that fail clearly."""

    value: Any
    source: Source
    at: FieldPath = ()

    def error(self, message: str, hint: str | None = None) -> ValidationError:
        return self.source.error(self.at, message, hint)

    def _child(self, key: Key, value: Any) -> View:
        return View(value, self.source, (*self.at, key))

    def mapping(self, what: str = "a mapping") -> dict[str, View]:
        if not isinstance(self.value, dict):
            raise self.error(f"must be {what}, not {_kind(self.value)}")
        return {key: self._child(key, value) for key, value in self.value.items()}

    def items(self) -> Iterator[View]:
        if self.value is None:
            return iter(())
        if not isinstance(self.value, list):
            raise self.error(f"must be a list, not {_kind(self.value)}")
        return (self._child(i, v) for i, v in enumerate(self.value))

    def get(self, key: str) -> View | None:
        fields = self.mapping()
        return fields.get(key)

    def text(self) -> str:
        if isinstance(self.value, bool) or not isinstance(self.value, str | int | float):
            raise self.error(f"must be a string, not {_kind(self.value)}")
        return str(self.value)

    def integer(self) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.error(f"must be a whole number, not {_kind(self.value)}")
        return self.value

    def boolean(self) -> bool:
        if not isinstance(self.value, bool):
            raise self.error(f"must be true or false, not {_kind(self.value)}")
        return self.value

    def strings(self) -> tuple[str, ...]:
        return tuple(item.text() for item in self.items())

    def only(self, allowed: set[str]) -> dict[str, View]:
        """The mapping's fields, rejecting any key not in ``allowed`` (sensorlab's own schema)."""
        fields = self.mapping()
        for key, child in fields.items():
            if key not in allowed:
                raise child.error(
                    "unknown field", hint=f"known fields: {', '.join(sorted(allowed))}"
                )
        return fields


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"a boolean ({value!r})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"
