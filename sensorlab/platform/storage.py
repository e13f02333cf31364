"""Per-instrument volumes on the appliance: encrypted persistent, tmpfs transient.

Persistent: an ext4 image file sized to the quota (ext4 quotas do not mount
on this kernel, so the file size *is* the cap), on a loop device, with one
fscrypt v2 directory ``data`` whose 32-byte key lives in the root-only
keystore. Only ``data`` is bound onto the planner's ``persistent_mount``,
which LXD binds into the instrument. Transient: a size-capped tmpfs.

Both roots belong to the instrument's isolated idmap root (its
``volatile.idmap.base``): root inside that instrument, a stranger's uid to
every other instrument, even through a mount that leaked.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from dataclasses import dataclass

from sensorlab import names
from sensorlab.errors import SensorlabError
from sensorlab.platform import fscrypt
from sensorlab.run import run
from sensorlab.spec import InstrumentSpec

_LOOP_CTL_GET_FREE = 0x4C82
_MOUNT_OPTIONS = "nosuid,nodev"
DATA_DIR = "data"


@dataclass(frozen=True)
class Volume:
    """Where one instrument's persistent volume lives on the appliance."""

    instrument: str
    image: str
    fs_mount: str
    mount: str
    key: str

    @classmethod
    def of(cls, spec: InstrumentSpec) -> Volume:
        return cls(instrument=spec.name, image=spec.storage.persistent_image,
                   fs_mount=names.persistent_fs_mount(spec.name),
                   mount=spec.storage.persistent_mount, key=names.instrument_key(spec.name))

    @property
    def data(self) -> str:
        return f"{self.fs_mount}/{DATA_DIR}"

    def error(self, what: str, hint: str | None = None) -> SensorlabError:
        return SensorlabError(
            f"instrument {self.instrument}: persistent volume {self.image}: {what}", hint=hint)


def is_mounted(path: str) -> bool:
    return os.path.ismount(path)


def _private_dir(path: str, mode: int = 0o700) -> None:
    os.makedirs(path, mode=mode, exist_ok=True)
    os.chmod(path, mode)


# --- keystore -------------------------------------------------------------------
def _new_key(volume: Volume) -> bytes:
    _private_dir(names.KEYSTORE_DIR)
    key = os.urandom(fscrypt.KEY_BYTES)
    fd = os.open(volume.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
        handle.flush()
        os.fsync(handle.fileno())
    return key


def _read_key(volume: Volume) -> bytes:
    try:
        with open(volume.key, "rb") as handle:
            key = handle.read()
    except FileNotFoundError:
        raise volume.error(
            f"its key {volume.key} is missing from the keystore",
            hint="without the key the data cannot be read; restore the key file, or "
            f"`sensorlab-platform remove --instrument {volume.instrument}` to start empty",
        ) from None
    if len(key) != fscrypt.KEY_BYTES:
        raise volume.error(f"its key {volume.key} is damaged ({len(key)} bytes, "
                           f"expected {fscrypt.KEY_BYTES})", hint="restore the key file")
    return key


def destroy_key(volume: Volume) -> bool:
    """Overwrite, sync and unlink the key: without it the image is noise (crypto-erase)."""
    try:
        fd = os.open(volume.key, os.O_WRONLY)
    except FileNotFoundError:
        return False
    with os.fdopen(fd, "wb") as handle:
        size = os.fstat(handle.fileno()).st_size
        for pattern in (os.urandom(size), bytes(size)):
            handle.seek(0)
            handle.write(pattern)
            handle.flush()
            os.fsync(handle.fileno())
    os.unlink(volume.key)
    return True


# --- loop devices -----------------------------------------------------------------
def ensure_loop_nodes() -> None:
    """Make /dev/loopN for the kernel's next free index.

    The appliance's /dev is LXD's tmpfs, not devtmpfs: loop devices the
    kernel adds on demand get no node there, so mount -o loop would fail.
    """
    fd = os.open("/dev/loop-control", os.O_RDWR)
    try:
        free = fcntl.ioctl(fd, _LOOP_CTL_GET_FREE)
    finally:
        os.close(fd)
    for index in range(free + 1):
        path = f"/dev/loop{index}"
        if not os.path.exists(path):
            with contextlib.suppress(FileExistsError):
                os.mknod(path, 0o660 | stat.S_IFBLK, os.makedev(7, index))


# --- persistent volume ------------------------------------------------------------
def _allocate(volume: Volume, size: int) -> None:
    _private_dir(os.path.dirname(volume.image))
    fd = os.open(volume.image, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        # Reserve every block now: a sparse file would pass here and fail
        # later, inside the instrument, when the appliance's disk fills.
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        os.close(fd)
        os.unlink(volume.image)
        if exc.errno == errno.ENOSPC:
            raise volume.error(f"the appliance's disk has no room for {size} bytes",
                               hint="free space under "
                               f"{os.path.dirname(volume.image)} or lower the quota") from None
        raise volume.error(f"cannot allocate the image: {exc.strerror}") from None
    os.close(fd)


def create_persistent(spec: InstrumentSpec, owner: int) -> Volume:
    """A new, empty, encrypted volume and a new key. The caller undoes with ``erase``."""
    volume = Volume.of(spec)
    if os.path.exists(volume.key):
        raise volume.error(f"a key {volume.key} exists but the image does not",
                           hint=f"`sensorlab-platform remove --instrument {spec.name}` first")
    try:
        _allocate(volume, spec.storage.persistent_bytes)
        # -m 0: the instrument's root is not the appliance's root, reserved
        # blocks would only shrink its quota.
        run(["mkfs.ext4", "-q", "-F", "-m", "0", "-O", "encrypt",
             "-L", f"sl-{spec.name}"[:16], volume.image])
        key = _new_key(volume)
        _mount_fs(volume)
        os.mkdir(volume.data, 0o770)
        fscrypt.set_policy(volume.data, fscrypt.add_key(volume.fs_mount, key))
        # Root of the instrument owns it; its payload user (the image's
        # `instrument` group) may write too: payloads do not run as root.
        os.chown(volume.data, owner, owner + names.INSTRUMENT_UID)
        os.chmod(volume.data, 0o770)
        ensure_mount_points(spec)
        _bind(volume)
    except BaseException:
        erase(spec)
        raise
    return volume


def attach_persistent(spec: InstrumentSpec, owner: int) -> Volume:
    """Mount and unlock an existing volume; its owner follows the instrument's idmap."""
    volume = Volume.of(spec)
    key = _read_key(volume)
    if not is_mounted(volume.fs_mount):
        _mount_fs(volume)
    try:
        identifier = fscrypt.add_key(volume.fs_mount, key)
        if not os.path.isdir(volume.data):
            raise volume.error(f"its {DATA_DIR} directory is missing",
                               hint="the image is damaged; remove the instrument to start empty")
        if fscrypt.policy_identifier(volume.data) != identifier:
            fscrypt.remove_key(volume.fs_mount, identifier)
            raise volume.error(f"the key {volume.key} is not this volume's key",
                               hint="restore the instrument's own key file")
        old = os.stat(volume.data).st_uid
        if old != owner:
            _shift_owner(volume.data, old, owner)
        if not is_mounted(volume.mount):
            ensure_mount_points(spec)
            _bind(volume)
    except OSError as exc:
        detach_persistent(spec)
        raise volume.error(f"cannot unlock it: {exc.strerror}",
                           hint="the image is damaged; `e2fsck -n` it or remove the instrument"
                           ) from None
    except BaseException:
        detach_persistent(spec)
        raise
    return volume


def _mount_fs(volume: Volume) -> None:
    _private_dir(names.VOLUMES_DIR)
    os.makedirs(volume.fs_mount, mode=0o700, exist_ok=True)
    ensure_loop_nodes()
    proc = run(["mount", "-t", "ext4", "-o", f"loop,{_MOUNT_OPTIONS}", volume.image,
                volume.fs_mount], check=False)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise volume.error(
            "it does not mount; the image is corrupt or not an ext4 volume"
            + (f" ({detail[-1]})" if detail else ""),
            hint=f"check it with `e2fsck -n {volume.image}`, or remove the instrument "
            "to start with an empty volume")


def _bind(volume: Volume) -> None:
    run(["mount", "--bind", volume.data, volume.mount])


def remove_mount_points(spec: InstrumentSpec) -> None:
    """Undo ``ensure_mount_points``; a mounted or non-empty one is not ours to remove."""
    for path in (spec.storage.persistent_mount, spec.storage.transient_mount):
        if not is_mounted(path):
            with contextlib.suppress(FileNotFoundError, OSError):
                os.rmdir(path)


def ensure_mount_points(spec: InstrumentSpec) -> None:
    """The empty directories the volumes mount on; LXD wants disk sources to exist.

    Root-owned and mode 000: should the instrument ever run without its volume
    mounted, its (unprivileged) root cannot write to the appliance's own disk.
    """
    for path in (spec.storage.persistent_mount, spec.storage.transient_mount):
        if not is_mounted(path):
            _private_dir(os.path.dirname(path))
            _private_dir(path, 0o000)


def _shift_owner(root: str, old_base: int, new_base: int) -> None:
    """Move files from the instrument's previous idmap range to its current one.

    A redeploy recreates a stopped container, and LXD may hand it another
    isolated range; its data must follow it or it would lock itself out.
    """
    def shifted(ident: int) -> int:
        return ident - old_base + new_base if old_base <= ident < old_base + 65536 else ident

    for top, dirs, files, dir_fd in os.fwalk(root, follow_symlinks=False):
        for name in [*dirs, *files]:
            st = os.lstat(name, dir_fd=dir_fd)
            os.chown(name, shifted(st.st_uid), shifted(st.st_gid), dir_fd=dir_fd,
                     follow_symlinks=False)
        st = os.lstat(top)
        os.chown(top, shifted(st.st_uid), shifted(st.st_gid), follow_symlinks=False)


def _umount(path: str) -> None:
    if is_mounted(path):
        run(["umount", path])


def detach_persistent(spec: InstrumentSpec) -> None:
    """Unbind, lock (remove the key from the kernel) and unmount. Idempotent."""
    volume = Volume.of(spec)
    _umount(volume.mount)
    if is_mounted(volume.fs_mount):
        with contextlib.suppress(OSError, SensorlabError):
            fscrypt.remove_key(volume.fs_mount, fscrypt.add_key(volume.fs_mount,
                                                                _read_key(volume)))
        _umount(volume.fs_mount)


def erase(spec: InstrumentSpec) -> None:
    """Crypto-erase: detach, destroy the key, delete the image. Already gone is fine."""
    volume = Volume.of(spec)
    detach_persistent(spec)
    destroy_key(volume)
    for path in (volume.image,):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    for path in (volume.mount, volume.fs_mount, spec.storage.transient_mount):
        with contextlib.suppress(FileNotFoundError, OSError):
            os.rmdir(path)


def persistent_exists(spec: InstrumentSpec) -> bool:
    return os.path.exists(spec.storage.persistent_image)


# --- transient volume -------------------------------------------------------------
def create_transient(spec: InstrumentSpec, owner: int) -> None:
    """A fresh, empty tmpfs capped at the instrument's transient size."""
    path = spec.storage.transient_mount
    wipe_transient(spec)
    ensure_mount_points(spec)
    options = (f"size={spec.storage.transient_bytes},mode=0770,uid={owner},"
               f"gid={owner + names.INSTRUMENT_UID},"
               f"{_MOUNT_OPTIONS}")
    proc = run(["mount", "-t", "tmpfs", "-o", options, f"sl-transient-{spec.name}", path],
               check=False)
    if proc.returncode != 0:
        raise SensorlabError(
            f"instrument {spec.name}: transient volume {path}: cannot mount: "
            f"{(proc.stderr or '').strip()}", hint="is the appliance out of memory?")


def wipe_transient(spec: InstrumentSpec) -> None:
    """Unmounting a tmpfs frees its pages: nothing of it is left anywhere."""
    _umount(spec.storage.transient_mount)
