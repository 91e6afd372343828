"""Small helpers shared by the emulator tests."""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest, HttpResponse
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import CreationData, Disk, DiskSku, Snapshot

API = "2026-03-02"


def snapshot_body(
    source_id: str,
    location: str = "eastus",
    *,
    incremental: bool | None = True,
    option: str = "Copy",
    tags: dict[str, str] | None = None,
) -> Snapshot:
    return Snapshot(
        location=location,
        incremental=incremental,
        tags=tags,
        creation_data=CreationData(create_option=option, source_resource_id=source_id),
    )


def restore_body(snapshot_id: str, location: str = "eastus", sku: str = "Standard_LRS") -> Disk:
    return Disk(
        location=location,
        sku=DiskSku(name=sku),
        creation_data=CreationData(create_option="Copy", source_resource_id=snapshot_id),
    )


def take_snapshot(
    client: ComputeManagementClient, rg: str, name: str, source_id: str, **kwargs: Any
) -> Snapshot:
    return client.snapshots.begin_create_or_update(rg, name, snapshot_body(source_id, **kwargs)).result()


def raw(
    client: ComputeManagementClient,
    method: str,
    path: str,
    body: Any = None,
    *,
    api_version: str | None = API,
    **kwargs: Any,
) -> HttpResponse:
    """One request through the SDK pipeline (auth, TLS) without the SDK's interpretation."""
    params = {"api-version": api_version} if api_version else {}
    request = HttpRequest(method, path, params=params, json=body)
    return client.send_request(request, **kwargs)


def error_code(exc: HttpResponseError) -> str:
    assert exc.error is not None, exc
    return str(exc.error.code)


def snapshot_json(source_id: str, location: str = "eastus", **props: Any) -> dict[str, Any]:
    """A REST body for raw PUTs."""
    return {
        "location": location,
        "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": source_id}, **props},
    }
