"""Identity-based storage access, for real: Azurite over HTTPS with ``--oauth basic``.

Deployed, the app has no storage key: ``AzureWebJobsStorage__tableServiceUri`` /
``__queueServiceUri`` / ``__clientId`` and its managed identity's Entra token. Here the same
settings reach Azurite through the product's own ``StorageClients`` with a token credential;
Azurite checks each bearer token's shape, lifetime, issuer and audience (not its signature),
so a token for the wrong audience is refused, which proves the tokens are really checked.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

from backup import names
from backup.adapters.storage import StorageClients
from backup.adapters.tables.store import VaultStore
from backup.config import STORAGE_CLIENT_ID, STORAGE_QUEUE_URI, STORAGE_TABLE_URI, Settings
from backup.domain.instance import VaultRef
from localdev.azurite import STORAGE_AUDIENCE, Azurite, AzuriteEndpoints, fake_entra_token

pytestmark = pytest.mark.integration

STORAGE_SCOPE = f"{STORAGE_AUDIENCE}/.default"
VAULT = VaultRef("33333333-0000-4000-8000-000000000003", "rg-backup", "identity-vault")


class FakeManagedIdentity:
    """An async token credential standing in for ManagedIdentityCredential: Entra-shaped JWTs."""

    def __init__(self, audience: str = STORAGE_AUDIENCE) -> None:
        self.audience = audience
        self.scopes: list[tuple[str, ...]] = []

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(fake_entra_token(self.audience), int(time.time()) + 3600)

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> FakeManagedIdentity:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        pass


@pytest.fixture(scope="module")
def oauth_azurite() -> Iterator[AzuriteEndpoints]:
    with Azurite(oauth=True) as endpoints:
        yield endpoints


def identity_settings(endpoints: AzuriteEndpoints) -> Settings:
    # Exactly what the deployed app reads (infra/app/function.bicep sets these), no connection string.
    return Settings.from_env(
        {
            STORAGE_TABLE_URI: endpoints.table_url,
            STORAGE_QUEUE_URI: endpoints.queue_url,
            STORAGE_CLIENT_ID: "00000000-0000-0000-0000-0000000000c1",
        }
    )


def test_the_oauth_mode_serves_https_with_its_own_ca(oauth_azurite: AzuriteEndpoints) -> None:
    assert oauth_azurite.table_url.startswith("https://127.0.0.1:")
    assert oauth_azurite.queue_url.startswith("https://127.0.0.1:")
    assert oauth_azurite.ca_bundle is not None
    assert oauth_azurite.connection_string.startswith("DefaultEndpointsProtocol=https;")


def test_the_default_mode_is_unchanged() -> None:
    plain = Azurite()
    try:
        endpoints = plain.endpoints
        assert (endpoints.scheme, endpoints.ca_bundle) == ("http", None)
        assert endpoints.table_url == f"http://127.0.0.1:{endpoints.table_port}/devstoreaccount1"
        assert endpoints.connection_string.startswith("DefaultEndpointsProtocol=http;")
        assert "--oauth" not in plain._extra_args
        assert "--cert" not in plain._extra_args
    finally:
        plain.stop()


async def test_tables_and_queues_through_a_token_credential(oauth_azurite: AzuriteEndpoints) -> None:
    settings = identity_settings(oauth_azurite)
    assert settings.storage_connection_string is None
    credential = FakeManagedIdentity()
    clients = StorageClients(settings, credential=credential, ca_bundle=oauth_azurite.ca_bundle)
    try:
        store = VaultStore(clients)
        await store.register_vault(VAULT, {"location": "eastus"})
        assert await store.get_vault(VAULT) is not None
        assert VAULT in await store.list_vaults()

        queue = await clients.queue(names.BACKUP_QUEUE)
        await queue.send_message('{"hello": "identity"}')
        (message,) = [m async for m in queue.receive_messages(max_messages=1)]
        assert message.content == b'{"hello": "identity"}'
        await queue.delete_message(message)
    finally:
        await clients.close()
    assert credential.scopes
    assert set(credential.scopes) == {(STORAGE_SCOPE,)}


@pytest.mark.parametrize("service", ["table", "queue"])
async def test_a_token_for_another_audience_is_refused(oauth_azurite: AzuriteEndpoints, service: str) -> None:
    clients = StorageClients(
        identity_settings(oauth_azurite),
        credential=FakeManagedIdentity("https://management.azure.com"),
        ca_bundle=oauth_azurite.ca_bundle,
    )
    use = clients.table(names.VAULTS_TABLE) if service == "table" else clients.queue(names.RESTORE_QUEUE)
    try:
        with pytest.raises(ClientAuthenticationError, match=r"(?i)invalid token audience") as refused:
            await use
        assert refused.value.status_code == 403
    finally:
        await clients.close()


async def test_without_the_ca_the_connection_is_refused(oauth_azurite: AzuriteEndpoints) -> None:
    clients = StorageClients(identity_settings(oauth_azurite), credential=FakeManagedIdentity())
    try:
        with pytest.raises(Exception, match=r"(?i)certificate"):
            await clients.table(names.VAULTS_TABLE)
    finally:
        await clients.close()
