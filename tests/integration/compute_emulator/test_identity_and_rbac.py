"""Authentication, RBAC with the three disk roles, linked authorization and the permissions API."""

from __future__ import annotations

import http.client
import ssl

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.aio import AuthorizationManagementClient as AioAuthorizationManagementClient
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import CreationData, Disk

from .conftest import (
    APP,
    NOBODY,
    OWNER,
    READER,
    SCOPES,
    SUB,
    TOKENS,
    AsyncStaticTokenCredential,
    Emu,
    StaticTokenCredential,
    disk_id,
    rg_id,
    snapshot_id,
)
from .helpers import error_code, raw, restore_body, snapshot_json, take_snapshot

pytestmark = pytest.mark.integration

DBR_ACTIONS = [
    "Microsoft.Authorization/*/read",
    "Microsoft.Compute/disks/read",
    "Microsoft.Compute/disks/beginGetAccess/action",
]


def _forbidden(exc: HttpResponseError, action: str, scope: str) -> None:
    assert exc.status_code == 403
    assert error_code(exc) == "AuthorizationFailed"
    assert f"'{action}'" in exc.error.message
    assert f"over scope '{scope}'" in exc.error.message


def test_unknown_token_is_401_invalid_authentication_token(emu: Emu) -> None:
    with emu.client("not-a-known-token") as stranger, pytest.raises(ClientAuthenticationError) as info:
        stranger.disks.get("rg-src", "d-std")
    assert info.value.status_code == 401
    assert error_code(info.value) == "InvalidAuthenticationToken"


async def test_unknown_token_is_401_for_aio_too(emu: Emu) -> None:
    async with emu.aio_client("not-a-known-token") as stranger:
        with pytest.raises(ClientAuthenticationError):
            await stranger.disks.get("rg-src", "d-std")


def test_missing_authorization_header_is_401_authentication_failed(emu: Emu) -> None:
    host, port = emu.url.removeprefix("https://").split(":")
    connection = http.client.HTTPSConnection(
        host, int(port), context=ssl.create_default_context(cafile=emu.ca_bundle), timeout=10
    )
    try:
        connection.request("GET", disk_id("rg-src", "d-std") + "?api-version=2026-03-02")
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 401
    assert b'"AuthenticationFailed"' in body
    assert response.getheader("WWW-Authenticate", "").startswith("Bearer authorization_uri=")
    assert response.getheader("x-ms-request-id")


def test_disk_backup_reader_reads_disks_but_writes_nothing(
    emu: Emu, compute: ComputeManagementClient
) -> None:
    assert compute.disks.get("rg-src", "d-std").name == "d-std"
    assert len(list(compute.disks.list_by_resource_group("rg-src"))) == 4
    with pytest.raises(HttpResponseError) as info:
        compute.disks.begin_create_or_update(
            "rg-src",
            "new",
            Disk(location="eastus", disk_size_gb=4, creation_data=CreationData(create_option="Empty")),
        ).result()
    _forbidden(info.value, "Microsoft.Compute/disks/write", disk_id("rg-src", "new"))
    with pytest.raises(HttpResponseError) as info:
        compute.disks.begin_delete("rg-src", "d-std").result()
    _forbidden(info.value, "Microsoft.Compute/disks/delete", disk_id("rg-src", "d-std"))
    with pytest.raises(HttpResponseError) as info:
        take_snapshot(compute, "rg-src", "in-source-rg", disk_id("rg-src", "d-std"))
    _forbidden(info.value, "Microsoft.Compute/snapshots/write", snapshot_id("rg-src", "in-source-rg"))
    with pytest.raises(HttpResponseError) as info:
        list(compute.disks.list())  # no subscription-wide read
    _forbidden(info.value, "Microsoft.Compute/disks/read", f"/subscriptions/{SUB}")


def test_disk_snapshot_contributor_manages_snapshots_only(emu: Emu, compute: ComputeManagementClient) -> None:
    snap = take_snapshot(compute, "rg-snap", "s", disk_id("rg-src", "d-std"))
    assert compute.snapshots.get("rg-snap", "s").id == snap.id
    with pytest.raises(HttpResponseError) as info:
        compute.disks.begin_create_or_update("rg-snap", "restored-here", restore_body(snap.id)).result()
    _forbidden(info.value, "Microsoft.Compute/disks/write", disk_id("rg-snap", "restored-here"))
    compute.snapshots.begin_delete("rg-snap", "s").result()


def test_disk_restore_operator_creates_disks_but_cannot_delete(
    emu: Emu, compute: ComputeManagementClient
) -> None:
    snap = take_snapshot(compute, "rg-snap", "s", disk_id("rg-src", "d-std"))
    compute.disks.begin_create_or_update("rg-restore", "r", restore_body(snap.id)).result()
    assert compute.disks.get("rg-restore", "r").provisioning_state == "Succeeded"
    with pytest.raises(HttpResponseError) as info:
        compute.disks.begin_delete("rg-restore", "r").result()
    _forbidden(info.value, "Microsoft.Compute/disks/delete", disk_id("rg-restore", "r"))
    with pytest.raises(HttpResponseError) as info:
        compute.snapshots.get("rg-restore", "anything")
    _forbidden(info.value, "Microsoft.Compute/snapshots/read", snapshot_id("rg-restore", "anything"))


def test_reader_reads_everything_and_writes_nothing(emu: Emu) -> None:
    with emu.client(READER) as reader:
        assert len(list(reader.disks.list())) == 12
        response = raw(reader, "PUT", snapshot_id("rg-snap", "r"), snapshot_json(disk_id("rg-src", "d-std")))
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "AuthorizationFailed"


def test_snapshot_needs_begin_get_access_on_the_source_disk(emu: Emu) -> None:
    # A principal that may write snapshots but holds nothing on the source disk.
    emu.admin.add_principal("a0000000-0000-4000-8000-0000000000b1", "snapper-token")
    emu.admin.grant("a0000000-0000-4000-8000-0000000000b1", "Disk Snapshot Contributor", rg_id("rg-restore"))
    with emu.client("snapper-token") as snapper, pytest.raises(HttpResponseError) as info:
        take_snapshot(snapper, "rg-restore", "s", disk_id("rg-src", "d-std"))
    assert info.value.status_code == 403
    assert error_code(info.value) == "LinkedAuthorizationFailed"
    assert "Microsoft.Compute/disks/beginGetAccess/action" in info.value.error.message
    assert disk_id("rg-src", "d-std") in info.value.error.message


def test_restore_needs_access_to_the_snapshot(emu: Emu, owner_compute: ComputeManagementClient) -> None:
    snap = take_snapshot(owner_compute, "rg-snap", "s", disk_id("rg-src", "d-std"))
    emu.admin.revoke(APP, "Disk Snapshot Contributor", rg_id("rg-snap"))
    with emu.client(APP) as app:
        with pytest.raises(HttpResponseError) as info:
            app.disks.begin_create_or_update("rg-restore", "r", restore_body(snap.id)).result()
        assert error_code(info.value) == "LinkedAuthorizationFailed"
        assert "Microsoft.Compute/snapshots/beginGetAccess/action" in info.value.error.message
        # Read on the snapshot is enough (Reader on the snapshot resource group).
        emu.admin.grant(APP, "Reader", rg_id("rg-snap"))
        app.disks.begin_create_or_update("rg-restore", "r", restore_body(snap.id)).result()


def test_grant_and_revoke_take_effect_immediately(emu: Emu) -> None:
    with emu.client(NOBODY) as nobody:
        with pytest.raises(HttpResponseError):
            nobody.disks.get("rg-src", "d-std")
        emu.admin.grant(NOBODY, "Disk Backup Reader", disk_id("rg-src", "d-std"))  # resource scope
        assert nobody.disks.get("rg-src", "d-std").name == "d-std"
        with pytest.raises(HttpResponseError):
            nobody.disks.get("rg-src", "d-prem")  # sibling: not covered
        with pytest.raises(HttpResponseError):
            list(nobody.disks.list_by_resource_group("rg-src"))  # RG-wide list needs RG-scope read
        emu.admin.revoke(NOBODY, "Disk Backup Reader", disk_id("rg-src", "d-std"))
        with pytest.raises(HttpResponseError):
            nobody.disks.get("rg-src", "d-std")


def test_contributor_may_not_touch_authorization_but_may_do_the_rest(emu: Emu) -> None:
    emu.admin.grant(NOBODY, "Contributor", f"/subscriptions/{SUB}")
    with emu.client(NOBODY) as contributor:
        take_snapshot(contributor, "rg-snap", "c", disk_id("rg-src", "d-std"))
    with _authorization(emu, NOBODY) as auth:
        [entry] = auth.permissions.list_for_resource_group("rg-snap")
    assert entry.actions == ["*"]
    assert "Microsoft.Authorization/*/Write" in entry.not_actions


def _authorization(emu: Emu, principal: str) -> AuthorizationManagementClient:
    return AuthorizationManagementClient(
        StaticTokenCredential(TOKENS[principal]),
        SUB,
        base_url=emu.url,
        connection_verify=emu.ca_bundle,
        credential_scopes=SCOPES,
    )


def test_permissions_api_for_resource_group_and_resource(emu: Emu) -> None:
    with _authorization(emu, APP) as auth:
        [snapshot_rg] = auth.permissions.list_for_resource_group("rg-snap")
        assert "Microsoft.Compute/snapshots/write" in snapshot_rg.actions
        assert snapshot_rg.not_actions == []
        assert snapshot_rg.data_actions == []
        assert snapshot_rg.not_data_actions == []
        [disk] = auth.permissions.list_for_resource("rg-src", "Microsoft.Compute", "", "disks", "d-std")
        assert disk.actions == DBR_ACTIONS
        assert list(auth.permissions.list_for_resource_group("rg-many")) == []
    with _authorization(emu, READER) as auth:
        [entry] = auth.permissions.list_for_resource_group("rg-src")
        assert entry.actions == ["*/read"]
    emu.admin.grant(APP, "Reader", f"/subscriptions/{SUB}")
    with _authorization(emu, APP) as auth:  # one entry per applicable assignment
        assert len(list(auth.permissions.list_for_resource_group("rg-src"))) == 2
        with pytest.raises(HttpResponseError) as info:
            list(auth.permissions.list_for_resource_group("rg-none"))
        assert error_code(info.value) == "ResourceGroupNotFound"


async def test_permissions_api_aio(emu: Emu) -> None:
    async with AioAuthorizationManagementClient(
        AsyncStaticTokenCredential(TOKENS[OWNER]),
        SUB,
        base_url=emu.url,
        connection_verify=emu.ca_bundle,
        credential_scopes=SCOPES,
    ) as auth:
        entries = [
            p
            async for p in auth.permissions.list_for_resource("rg-src", "Microsoft.Compute", "", "disks", "d")
        ]
    assert [e.actions for e in entries] == [["*"]]
