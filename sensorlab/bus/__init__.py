"""The bus seen from an instrument: its credential, a socket relay and a nats-py client.

``credential`` is stdlib only (the platform writes credentials with it on the
appliance); ``relay`` and ``client`` need asyncio and nats-py.
"""
