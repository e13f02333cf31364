"""The kernel's fscrypt ioctls (v2 policies, raw 32-byte keys), straight from Python.

The ``fscrypt`` CLI would need /etc/fscrypt.conf and a ``.fscrypt`` metadata
directory at the filesystem root, which is the very tree an instrument sees.
The ioctls need neither: the key comes from the platform's keystore, the
policy goes on one empty directory, and removing the key locks it again.
Layouts are from <linux/fscrypt.h>.
"""

from __future__ import annotations

import fcntl
import os
import struct

KEY_BYTES = 32  # AES-256-XTS needs a 64-byte derived key; the master key is 32+ bytes
_SPEC_IDENTIFIER = 2  # FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER: v2 policies
_MODE_AES_256_XTS = 1
_MODE_AES_256_CTS = 4
_POLICY_FLAGS_PAD_32 = 0x03

# _IOWR('f', 23, struct fscrypt_add_key_arg) and friends, sizes without the raw key.
_ADD_KEY = 0xC0506617
_REMOVE_KEY = 0xC0406618
_REMOVE_KEY_ALL_USERS = 0xC0406619
_KEY_STATUS = 0xC080661A
_SET_POLICY = 0x800C6613

KEY_ABSENT, KEY_PRESENT, KEY_INCOMPLETELY_REMOVED = 1, 2, 3


def _key_spec(identifier: bytes = b"") -> bytes:
    # struct fscrypt_key_specifier: u32 type, u32 reserved, u8 u[32]
    return struct.pack("=II32s", _SPEC_IDENTIFIER, 0, identifier)


def add_key(mountpoint: str, key: bytes) -> bytes:
    """Load ``key`` into the filesystem's keyring; returns its 16-byte identifier."""
    arg = bytearray(_key_spec() + struct.pack("=II32x", len(key), 0) + key)
    fd = os.open(mountpoint, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.ioctl(fd, _ADD_KEY, arg)
    finally:
        os.close(fd)
    return bytes(arg[8:24])


def remove_key(mountpoint: str, identifier: bytes) -> None:
    """Remove the key for all users: files of the policy become unreadable again."""
    arg = bytearray(_key_spec(identifier) + bytes(24))
    fd = os.open(mountpoint, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.ioctl(fd, _REMOVE_KEY_ALL_USERS, arg)
    finally:
        os.close(fd)


def key_status(mountpoint: str, identifier: bytes) -> int:
    arg = bytearray(_key_spec(identifier) + bytes(128 - 40))
    fd = os.open(mountpoint, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.ioctl(fd, _KEY_STATUS, arg)
    finally:
        os.close(fd)
    status: int = struct.unpack_from("=I", arg, 64)[0]
    return status


def set_policy(directory: str, identifier: bytes) -> None:
    """Put a v2 AES-256-XTS/CTS policy on an empty directory (idempotent if it matches)."""
    # struct fscrypt_policy_v2: version, contents, filenames, flags, 4 reserved, id[16]
    policy = struct.pack("=BBBB4x16s", 2, _MODE_AES_256_XTS, _MODE_AES_256_CTS,
                         _POLICY_FLAGS_PAD_32, identifier)
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.ioctl(fd, _SET_POLICY, policy)
    finally:
        os.close(fd)


_GET_POLICY_EX = 0xC0096616  # _IOWR('f', 22, __u8[9])


def policy_identifier(directory: str) -> bytes:
    """The master key identifier of a directory's v2 policy."""
    # struct fscrypt_get_policy_ex_arg: u64 policy_size, then the policy itself.
    arg = bytearray(struct.pack("=Q", 24) + bytes(24))
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.ioctl(fd, _GET_POLICY_EX, arg)
    finally:
        os.close(fd)
    return bytes(arg[16:32])
