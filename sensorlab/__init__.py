"""sensorlab: build, ship and prove isolated network-sensor appliances.

Two halves share this package:

* ``sensorlab.platform`` runs *on the appliance* (Debian's python3 plus
  python3-pylxd/pyroute2/yaml) and turns a deployment spec into isolated,
  running Instruments.
* ``sensorlab.harness`` runs on the CI VM: it builds images, deploys the
  appliance into nested LXD and drives the isolation tests.

Everything the two halves exchange is a frozen dataclass in ``sensorlab.spec``.
"""

__version__ = "0.1.0"
