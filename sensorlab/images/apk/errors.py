"""Errors of the Alpine path. Each message names the package or file at fault."""

from __future__ import annotations

from sensorlab.errors import SensorlabError


class ApkError(SensorlabError):
    """Something about an Alpine package, index or repository is wrong."""


class FormatError(ApkError):
    """Not a well-formed .apk, APKINDEX or lockfile."""


class SignatureError(ApkError):
    """A signature is missing, made by an untrusted key, or does not verify."""


class ChecksumError(ApkError):
    """Bytes do not match the checksum that the index, lock or package declares."""


class HostileArchiveError(ApkError):
    """A package tries to write outside the rootfs or plant something dangerous."""


class ResolveError(ApkError):
    """The requested packages cannot be satisfied from the repositories."""


class LockMismatchError(ApkError):
    """The lockfile no longer matches the recipe."""


class FetchError(ApkError):
    """A repository or package could not be read."""
