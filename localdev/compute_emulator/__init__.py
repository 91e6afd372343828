"""A local HTTPS stand-in for the slice of Azure Resource Manager the product uses.

azure-mgmt-compute 39 (api-version 2026-03-02) and azure-mgmt-authorization 4.0.0, sync and
aio, run against it unchanged apart from ``base_url``, the credential and
``connection_verify``. It enforces the rules Azure enforces (RBAC, snapshot limits, regions,
throttling, LRO protocol) so the product's handling of them can be tested offline.

In-process::

    with EmulatorServer(seed, config={"retryAfterAcceptedSeconds": 0}) as emu:
        client = ComputeManagementClient(cred, sub, base_url=emu.url, connection_verify=emu.ca_bundle, ...)

Standalone: ``python -m localdev.compute_emulator --port 0 --seed localdev/seed.json``.
"""

from __future__ import annotations

from .client import AdminClient, AdminError
from .config import EmulatorConfig
from .server import EmulatorServer

__all__ = ["AdminClient", "AdminError", "EmulatorConfig", "EmulatorServer"]
