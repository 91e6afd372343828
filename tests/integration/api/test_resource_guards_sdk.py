"""Resource guards through the official SDK and the local Functions host (no mocks): a guard
created, read and listed; a vault linked to it (``isVaultProtectedByResourceGuard``); unlockDelete
and unlinking refused without an approval. With a function key and no sign-in every caller is the
same principal, who cannot approve themselves; deleting the guard (its holder's act) unprotects
the vault, as in Azure, and the link can then go."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from azure.core.exceptions import HttpResponseError

from localdev.functions_host import FunctionsHost
from tests.integration.api.conftest import SUB
from tests.integration.api.test_instances import Env
from tests.integration.api.test_instances_sdk import hosted
from tests.integration.api.test_through_host_and_sdk import sdk

pytestmark = pytest.mark.integration

__all__ = ["hosted"]  # the fixture, imported for pytest


async def test_the_sdk_manages_a_resource_guard_and_a_vaults_link_to_it(
    hosted: tuple[FunctionsHost, Env],
) -> None:
    host, _ = hosted
    resource_group = "rg-sdk-mua-" + uuid.uuid4().hex[:6]
    guard_id = f"/subscriptions/{SUB}/resourceGroups/{resource_group}/providers/Microsoft.DataProtection"
    guard_id += "/resourceGuards/guard"

    def scenario() -> None:
        client = sdk(host)
        guard = client.resource_guards.put(resource_group, "guard", {"location": "westus"})
        assert (guard.id, guard.type) == (guard_id, "Microsoft.DataProtection/resourceGuards")
        assert guard.properties is not None
        assert guard.properties.provisioning_state == "Succeeded"
        assert guard.properties.vault_critical_operation_exclusion_list == []
        operations = {op.vault_critical_operation for op in guard.properties.resource_guard_operations or []}
        assert "Microsoft.DataProtection/backupVaults/backupInstances/delete" in operations
        assert client.resource_guards.get(resource_group, "guard").name == "guard"
        assert client.resource_guards.patch(resource_group, "guard", {"tags": {"team": "sec"}}).tags == {
            "team": "sec"
        }
        listed = list(client.resource_guards.get_resources_in_resource_group(resource_group))
        assert [item.name for item in listed] == ["guard"]

        client.backup_vaults.begin_create_or_update(
            resource_group,
            "vault-mua",
            {
                "location": "westus",
                "properties": {
                    "storageSettings": [{"datastoreType": "OperationalStore", "type": "LocallyRedundant"}]
                },
            },
        ).result()
        proxy = client.dpp_resource_guard_proxy.create_or_update(
            resource_group,
            "vault-mua",
            "DppResourceGuardProxy",
            {"properties": {"resourceGuardResourceId": guard_id}},
        )
        assert proxy.properties is not None
        assert proxy.properties.resource_guard_resource_id == guard_id
        vault = client.backup_vaults.get(resource_group, "vault-mua")
        assert vault.properties.is_vault_protected_by_resource_guard is True

        with pytest.raises(HttpResponseError) as unlock:
            client.dpp_resource_guard_proxy.unlock_delete(
                resource_group,
                "vault-mua",
                "DppResourceGuardProxy",
                {"resourceGuardOperationRequests": [guard_id + "/deleteBackupInstanceRequests/default"]},
            )
        assert unlock.value.status_code == 403
        assert unlock.value.error is not None
        assert unlock.value.error.code == "LinkedAuthorizationFailed"
        with pytest.raises(HttpResponseError) as unlink:
            client.dpp_resource_guard_proxy.delete(resource_group, "vault-mua", "DppResourceGuardProxy")
        assert unlink.value.status_code == 403

        client.resource_guards.delete(resource_group, "guard")
        client.dpp_resource_guard_proxy.delete(resource_group, "vault-mua", "DppResourceGuardProxy")
        assert list(client.dpp_resource_guard_proxy.list(resource_group, "vault-mua")) == []
        assert (
            client.backup_vaults.get(
                resource_group, "vault-mua"
            ).properties.is_vault_protected_by_resource_guard
            is False
        )

    await asyncio.to_thread(scenario)
