"""Image building: deterministic rootfs assembly and LXD image packing."""
