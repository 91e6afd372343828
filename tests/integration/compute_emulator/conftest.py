"""Fixtures for the Compute emulator conformance tests.

One emulator per session (in-process, free port on 127.0.0.1, Retry-After 0, page size 3);
every test starts from ``TEST_SEED`` through ``POST /_admin/reset``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.aio import ComputeManagementClient as AioComputeManagementClient

from backup.credentials import AsyncStaticTokenCredential, StaticTokenCredential
from localdev.compute_emulator import AdminClient, EmulatorServer
from tests.paths import COMPUTE_REFERENCE

REFERENCE_DIR = COMPUTE_REFERENCE / "examples"
SCOPES = ["https://management.azure.com/.default"]

SUB = "aaaaaaaa-0000-4000-8000-000000000001"
SUB_B = "bbbbbbbb-0000-4000-8000-000000000002"
APP = "a0000000-0000-4000-8000-0000000000a1"
OWNER = "a0000000-0000-4000-8000-0000000000a2"
READER = "a0000000-0000-4000-8000-0000000000a3"
NOBODY = "a0000000-0000-4000-8000-0000000000a4"
TOKENS = {APP: "app-token", OWNER: "owner-token", READER: "reader-token", NOBODY: "nobody-token"}


def rg_id(name: str, sub: str = SUB) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{name}"


def disk_id(rg: str, name: str, sub: str = SUB) -> str:
    return f"{rg_id(rg, sub)}/providers/Microsoft.Compute/disks/{name}"


def snapshot_id(rg: str, name: str, sub: str = SUB) -> str:
    return f"{rg_id(rg, sub)}/providers/Microsoft.Compute/snapshots/{name}"


TEST_SEED: dict[str, Any] = {
    "subscriptions": [
        {
            "id": SUB,
            "resourceGroups": [
                {
                    "name": "rg-src",
                    "location": "eastus",
                    "disks": [
                        {"name": "d-std", "sku": "Standard_LRS", "sizeGB": 32, "content": "std-v1",
                         "tags": {"app": "web"}},
                        {"name": "d-prem", "sku": "Premium_LRS", "sizeGB": 64, "zone": "1",
                         "content": "prem-v1"},
                        {"name": "d-v2", "sku": "PremiumV2_LRS", "sizeGB": 128, "zone": "2",
                         "content": "v2-v1"},
                        {"name": "d-ultra", "sku": "UltraSSD_LRS", "sizeGB": 64, "zone": "3",
                         "content": "ultra"},
                    ],
                },
                {
                    "name": "rg-src-west",
                    "location": "westus2",
                    "disks": [
                        {"name": "w-std", "sku": "StandardSSD_LRS", "sizeGB": 16, "content": "west-v1"}
                    ],
                },
                {"name": "rg-snap", "location": "eastus"},
                {"name": "rg-snap-west", "location": "westus2"},
                {"name": "rg-restore", "location": "eastus"},
                {
                    "name": "rg-many",
                    "location": "eastus",
                    "disks": [{"name": f"m-{i:02d}", "sku": "Standard_LRS", "sizeGB": 4} for i in range(7)],
                },
            ],
        },
        {"id": SUB_B, "resourceGroups": [{"name": "rg-other", "location": "eastus"}]},
    ],
    "principals": [{"id": pid, "token": token} for pid, token in TOKENS.items()],
    "roleAssignments": [
        {"principalId": APP, "role": "Disk Backup Reader", "scope": rg_id("rg-src")},
        {"principalId": APP, "role": "Disk Backup Reader", "scope": rg_id("rg-src-west")},
        {"principalId": APP, "role": "Disk Snapshot Contributor", "scope": rg_id("rg-snap")},
        {"principalId": APP, "role": "Disk Snapshot Contributor", "scope": rg_id("rg-snap-west")},
        {"principalId": APP, "role": "Disk Restore Operator", "scope": rg_id("rg-restore")},
        {"principalId": OWNER, "role": "Owner", "scope": f"/subscriptions/{SUB}"},
        {"principalId": OWNER, "role": "Owner", "scope": f"/subscriptions/{SUB_B}"},
        {"principalId": READER, "role": "Reader", "scope": f"/subscriptions/{SUB}"},
    ],
}  # fmt: skip


@dataclass
class Emu:
    """What a test needs: where the emulator is, its admin client and SDK client factories."""

    url: str
    ca_bundle: str
    admin_url: str
    admin: AdminClient

    def client(self, principal: str = APP, subscription: str = SUB, **kwargs: Any) -> ComputeManagementClient:
        return ComputeManagementClient(
            StaticTokenCredential(TOKENS.get(principal, principal)),
            subscription,
            base_url=self.url,
            connection_verify=self.ca_bundle,
            credential_scopes=SCOPES,
            polling_interval=0,
            **kwargs,
        )

    def aio_client(
        self, principal: str = APP, subscription: str = SUB, **kwargs: Any
    ) -> AioComputeManagementClient:
        return AioComputeManagementClient(
            AsyncStaticTokenCredential(TOKENS.get(principal, principal)),
            subscription,
            base_url=self.url,
            connection_verify=self.ca_bundle,
            credential_scopes=SCOPES,
            polling_interval=0,
            **kwargs,
        )


@pytest.fixture
def emu(compute_emulator: EmulatorServer) -> Emu:
    """Resets the emulator to ``TEST_SEED`` (and the session config) before the test."""
    admin = compute_emulator.admin
    admin.reset(TEST_SEED)
    return Emu(compute_emulator.url, compute_emulator.ca_bundle, compute_emulator.admin_url, admin)


@pytest.fixture
def compute(emu: Emu) -> Iterator[ComputeManagementClient]:
    """Sync SDK client acting as the app principal."""
    with emu.client(APP) as client:
        yield client


@pytest.fixture
def owner_compute(emu: Emu) -> Iterator[ComputeManagementClient]:
    with emu.client(OWNER) as client:
        yield client


@pytest.fixture
async def aio_compute(emu: Emu) -> AsyncIterator[AioComputeManagementClient]:
    """aio SDK client acting as the app principal."""
    async with emu.aio_client(APP) as client:
        yield client


@pytest.fixture
def reference() -> Callable[[str], dict[str, Any]]:
    """Loads a reference example (the ground truth the emulator is compared against)."""

    def load(name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((REFERENCE_DIR / name).read_text())
        return data

    return load
