"""RSA keys and signatures as apk uses them.

A signature is stored in a tar member named ``.SIGN.RSA.<key>`` (PKCS#1 v1.5
over SHA-1, what every apk v2 accepts) or ``.SIGN.RSA256.<key>`` (SHA-256),
where ``<key>`` is the file name of the public key, e.g.
``sensorlab-3f2a9c1b.rsa.pub``. Verification looks that name up in a
directory of trusted public keys, like ``/etc/apk/keys``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sensorlab.images.apk.errors import SignatureError

SIGN_PREFIXES = {".SIGN.RSA.": "sha1", ".SIGN.RSA256.": "sha256"}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"sha1": hashes.SHA1, "sha256": hashes.SHA256}


@dataclass(frozen=True)
class SigningKey:
    """A private key and the public key file name that verifiers look up."""

    name: str  # e.g. "sensorlab-3f2a9c1b.rsa.pub"
    private_pem: bytes

    def private(self) -> rsa.RSAPrivateKey:
        key = serialization.load_pem_private_key(self.private_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise SignatureError(f"signing key {self.name} is not an RSA key")
        return key

    def public_pem(self) -> bytes:
        return self.private().public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass(frozen=True)
class KeyPair:
    private: Path
    public: Path


def signature_member(key_name: str, algorithm: str = "sha1") -> str:
    prefix = next(p for p, algo in SIGN_PREFIXES.items() if algo == algorithm)
    return prefix + key_name


def parse_signature_member(member: str) -> tuple[str, str] | None:
    """``.SIGN.RSA.<key>`` -> (key name, hash algorithm); None if not a signature."""
    for prefix, algorithm in SIGN_PREFIXES.items():
        if member.startswith(prefix) and len(member) > len(prefix):
            return member[len(prefix):], algorithm
    return None


def generate_keypair(out_dir: Path, name: str = "sensorlab", bits: int = 4096) -> KeyPair:
    """Write ``<name>-<fp>.rsa`` (PKCS#1, 0600) and ``<name>-<fp>.rsa.pub`` into ``out_dir``.

    The fingerprint suffix (like abuild's) keeps a rotated key from taking
    the old key's file name, which verifiers use as its identity.
    """
    if bits not in (2048, 3072, 4096):
        raise SignatureError(f"unsupported RSA key size {bits}", hint="use 2048, 3072 or 4096")
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    stem = f"{name}-{hashlib.sha256(public).hexdigest()[:8]}.rsa"
    out_dir.mkdir(parents=True, exist_ok=True)
    private_path, public_path = out_dir / stem, out_dir / f"{stem}.pub"
    if private_path.exists() or public_path.exists():
        raise SignatureError(f"refusing to overwrite existing key {private_path}")
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private)
    public_path.write_bytes(public)
    os.chmod(public_path, 0o644)
    return KeyPair(private=private_path, public=public_path)


def load_signing_key(private_path: Path) -> SigningKey:
    """Load ``X.rsa``; verifiers will look for the public key as ``X.rsa.pub``."""
    try:
        pem = private_path.read_bytes()
    except OSError as exc:
        raise SignatureError(f"cannot read signing key {private_path}: {exc.strerror}") from exc
    key = SigningKey(name=f"{private_path.name}.pub", private_pem=pem)
    key.private()  # fail now, not in the middle of a build
    return key


@dataclass(frozen=True)
class TrustedKeys:
    """Public keys by file name; the only keys whose signatures are accepted."""

    keys: Mapping[str, bytes]

    def verify(self, key_name: str, algorithm: str, signature: bytes, data: bytes,
               what: str) -> None:
        pem = self.keys.get(key_name)
        if pem is None:
            raise SignatureError(
                f"{what}: signed by untrusted key {key_name}",
                hint="add its public key to the recipe's keys directory if you trust it",
            )
        public = serialization.load_pem_public_key(pem)
        if not isinstance(public, rsa.RSAPublicKey):
            raise SignatureError(f"trusted key {key_name} is not an RSA key")
        try:
            public.verify(signature, data, padding.PKCS1v15(), _HASHES[algorithm]())
        except InvalidSignature as exc:
            raise SignatureError(f"{what}: signature by {key_name} does not verify") from exc

    def digest(self) -> dict[str, str]:
        return {name: hashlib.sha256(pem).hexdigest() for name, pem in sorted(self.keys.items())}


def load_trusted_keys(keys_dir: Path) -> TrustedKeys:
    """Every ``*.pub`` file in ``keys_dir``."""
    if not keys_dir.is_dir():
        raise SignatureError(f"keys directory {keys_dir} does not exist")
    keys = {path.name: path.read_bytes() for path in sorted(keys_dir.glob("*.pub"))}
    if not keys:
        raise SignatureError(f"no public keys (*.pub) in {keys_dir}")
    return TrustedKeys(keys=keys)


def sign(key: SigningKey, data: bytes, algorithm: str = "sha1") -> bytes:
    # PKCS#1 v1.5 is deterministic, so re-signing the same bytes gives the
    # same package: reproducible builds survive signing.
    return key.private().sign(data, padding.PKCS1v15(), _HASHES[algorithm]())
