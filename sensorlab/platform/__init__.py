"""The Sensor platform: runs on the appliance and applies a ``Deployment``.

It depends only on what the appliance image ships from Debian (python3,
python3-pylxd, python3-pyroute2, python3-yaml, nftables), never on the
harness's virtualenv.
"""
