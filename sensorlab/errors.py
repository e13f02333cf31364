"""User-facing errors: one clear line and a hint, tracebacks only with --debug."""

from __future__ import annotations

import sys


class SensorlabError(Exception):
    """An error the user can act on. ``str()`` is the one-line message."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        text = f"sensorlab: error: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class ValidationError(SensorlabError):
    """Bad input: a manifest, sensor file or spec. Names the file and field."""


def report(exc: SensorlabError) -> None:
    print(exc.render(), file=sys.stderr)
