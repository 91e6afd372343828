"""Azure's own REST examples (api-version 2026-06-01), sent to our API, answered in Azure's shape.

Each case sends one vendored example's request (``tests/reference/dataprotection/examples``, origins
in ``tests/reference/README.md``) over HTTP to the app in the local Functions host, on Azurite and
the Compute emulator (one stack for the module), with names adapted to this module's seeded vault,
policy, disk instance, recovery point, jobs, resource guard and vault linked to it. It then checks
that every property of the example's response for the status we answered is in ours, with the
same JSON type, and that enumerated properties hold one of Azure's values
(:mod:`tests.integration.api.example_shapes`). A 202 is followed to its result the way the SDK's
poller ends, and that result is compared with the example's 200.

Most of Azure's examples describe PostgreSQL or blob datasources; the adapters below turn such a
request into the same request for a managed disk (the datasource, the policy's data store and
schedule) and say why. Properties that exist only for other datasources are listed per case.

Cases for gaps other work is closing are ``xfail(strict=True)`` with the gap named: the case turns
red the moment the gap closes, and the mark comes off then. Adding an example is one ``case(...)``
in ``CASES``.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
import pytest_asyncio

from backup.api.auth import KEY_HOLDER
from backup.bootstrap import Runtime, use_runtime
from backup.cli import drain_backup_queue
from backup.config import Settings
from backup.domain.clock import ManualClock, ShiftedClock
from backup.domain.guards import MAX_APPROVAL, GuardApproval, GuardRef
from backup.domain.instance import VaultRef
from backup.domain.models import ProtectionState
from localdev.azurite import AzuriteEndpoints
from localdev.compute_emulator import EmulatorServer
from localdev.functions_host import FunctionsHost
from tests.hosting import HOST_KEY, project_host
from tests.integration.api.conftest import Answer
from tests.integration.api.contract import check_answer
from tests.integration.api.example_shapes import (
    ENUM_PROPERTIES,
    VAULT_ENUM_PROPERTIES,
    load_example,
    shape_mismatches,
)
from tests.integration.engine.conftest import reset_storage

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

SUB = "33333333-0000-4000-8000-000000000003"
APP = "a3333333-0000-4000-8000-0000000000a1"
TOKEN = "rest-examples-app-token"
LOCATION = "eastus"
GROUPS = f"/subscriptions/{SUB}/resourceGroups"
DISK_TYPE = "Microsoft.Compute/disks"
DISKS = tuple(f"disk-{n}" for n in range(1, 17))
SEED: dict[str, Any] = {
    "subscriptions": [
        {
            "id": SUB,
            "resourceGroups": [
                {
                    "name": "rg-src",
                    "location": LOCATION,
                    "disks": [
                        {"name": name, "sku": "StandardSSD_LRS", "sizeGB": 32, "content": f"{name}-v0"}
                        for name in DISKS
                    ],
                },
                {"name": "rg-snaps", "location": LOCATION},
                {"name": "rg-restore", "location": LOCATION},
            ],
        }
    ],
    "principals": [{"id": APP, "token": TOKEN}],
    "roleAssignments": [
        {"principalId": APP, "role": "Disk Backup Reader", "scope": f"{GROUPS}/rg-src"},
        {"principalId": APP, "role": "Disk Snapshot Contributor", "scope": f"{GROUPS}/rg-snaps"},
        {"principalId": APP, "role": "Disk Restore Operator", "scope": f"{GROUPS}/rg-restore"},
    ],
}
START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
VAULT = VaultRef(SUB, "rg-backup", "examples-vault")
POLICY = "diskpolicy"
INSTANCE = "disk-1-instance"
# Multi-user authorization: a guard, and a second vault linked to it (critical operations of the
# seeded vault stay unguarded for the other cases).
GUARD = GuardRef(SUB, VAULT.resource_group, "examples-guard")
GUARDED_VAULT = VaultRef(SUB, VAULT.resource_group, "examples-guarded-vault")
PROXY = "DppResourceGuardProxy"
SECURITY_ADMIN = "security-admin@contoso.com"


def disk_id(name: str, group: str = "rg-src") -> str:
    return f"{GROUPS}/{group}/providers/{DISK_TYPE}/{name}"


def datasource(disk: str, object_type: str = "Datasource") -> dict[str, Any]:
    return {
        "datasourceType": DISK_TYPE,
        "objectType": object_type,
        "resourceID": disk,
        "resourceLocation": LOCATION,
        "resourceName": disk.rsplit("/", 1)[-1],
        "resourceType": DISK_TYPE,
        "resourceUri": disk,
    }


@dataclass
class Stack:
    """One seeded world for the whole module: a vault with a disk policy, a protected disk with
    an on-demand recovery point, its backup job, a restore job, a resource guard with a second
    vault linked to it and an approval on it for the caller, and spare disks for cases that
    change or delete what they target."""

    api: HostApi
    runtime: Runtime
    recovery_point: str = ""
    backup_job: str = ""
    operation: str = ""
    free_disks: Any = field(default_factory=lambda: iter(DISKS[1:]))
    counter: Any = field(default_factory=itertools.count)

    def names(self, **extra: str) -> dict[str, str]:
        return {
            "sub": SUB,
            "rg": VAULT.resource_group,
            "vault": VAULT.name,
            "policy": POLICY,
            "instance": INSTANCE,
            "rp": self.recovery_point,
            "job": self.backup_job,
            "operation": self.operation,
            "location": LOCATION,
            "disk": disk_id(DISKS[0]),
            "guard": GUARD.name,
            "guard_id": GUARD.id,
            "proxy": PROXY,
            **extra,
        }

    async def target(self, kind: str) -> dict[str, str]:
        """Names for a case, with a target of its own when it creates, changes or deletes one."""
        n = next(self.counter)
        if kind == "new-vault":
            return self.names(vault=f"examples-vault-{n}")
        if kind == "vault":
            name = f"examples-vault-{n}"
            answer = await self.api.call(
                "PUT", vault_path(VaultRef(SUB, VAULT.resource_group, name)), VAULT_BODY
            )
            assert answer.status == 201, answer.body
            return self.names(vault=name)
        if kind == "new-policy":
            return self.names(policy=f"policy-{n}")
        if kind == "policy":
            answer = await self.api.call(
                "PUT", f"{vault_path(VAULT)}/backupPolicies/policy-{n}", SEEDED_POLICY
            )
            assert answer.status in (200, 201), answer.body
            return self.names(policy=f"policy-{n}")
        if kind == "new-guard":
            return self.names(guard=f"guard-{n}")
        if kind == "guard":
            answer = await self.api.call("PUT", f"{GUARDS_PATH}/guard-{n}", GUARD_BODY)
            assert answer.status == 201, answer.body
            return self.names(guard=f"guard-{n}")
        if kind in ("new-proxy", "proxy"):
            vault = VaultRef(SUB, VAULT.resource_group, f"examples-vault-{n}")
            answer = await self.api.call("PUT", vault_path(vault), VAULT_BODY)
            assert answer.status == 201, answer.body
            if kind == "proxy":
                await link(self.api, vault)
            return self.names(vault=vault.name)
        if kind in INSTANCE_TARGETS:
            disk = disk_id(next(self.free_disks))
            name = f"instance-{n}"
            if kind != "new-instance":
                await protect(self.api, name, disk)
            path = f"{vault_path(VAULT)}/backupInstances/{name}"
            action = {"stopped-instance": "stopProtection", "suspended-instance": "suspendBackups"}.get(kind)
            extra: dict[str, str] = {}
            if action is not None:
                answer = await self.api.call("POST", f"{path}/{action}")
                assert answer.status == 202, answer.body
                extra["operation"] = urlsplit(answer.headers["Location"]).path.rsplit("/", 1)[-1]
            if kind == "errored-instance":  # as a failed scheduled backup leaves it
                store = self.runtime.store
                current = await store.get_instance(VAULT, name)
                assert current is not None
                errored = replace(current.value, protection_state=ProtectionState.PROTECTION_ERROR)
                await store.update_instance(current, errored)
            if kind == "deleted-instance":
                answer = await self.api.call("DELETE", path)
                assert answer.status in (200, 202, 204), answer.body
            return self.names(instance=name, disk=disk, **extra)
        assert kind == "", kind
        return self.names()


INSTANCE_TARGETS = (
    "new-instance",
    "instance",
    "stopped-instance",
    "suspended-instance",
    "errored-instance",
    "deleted-instance",
)


def vault_path(vault: VaultRef) -> str:
    return f"{vault.id}"


GUARDS_PATH = f"{GROUPS}/{GUARD.resource_group}/providers/Microsoft.DataProtection/resourceGuards"
GUARD_BODY = {"location": LOCATION}


async def link(api: HostApi, vault: VaultRef) -> None:
    """Link ``vault`` to the seeded guard, as PutResourceGuardProxy does."""
    body = {"properties": {"resourceGuardResourceId": GUARD.id}}
    answer = await api.call("PUT", f"{vault_path(vault)}/backupResourceGuardProxies/{PROXY}", body)
    assert answer.status == 200, answer.body


async def approve_key_holder(runtime: Runtime) -> None:
    """The approval a signed-in security administrator gives (POST .../approvals under /api/x/):
    with a function key and no sign-in every caller is one principal, who cannot approve its own
    requests, so the module stores the approval as that endpoint would: granted now on the app's
    (the module's manual) clock, lasting the longest an approval may."""
    granted = runtime.clock.now()
    approval = GuardApproval(KEY_HOLDER.principal_name, SECURITY_ADMIN, granted, granted + MAX_APPROVAL)
    await runtime.store.put_guard_approval(GUARD, approval)


def seeded_vault_body() -> dict[str, Any]:
    """Azure's PutBackupVault example with the soft-delete state this API takes today ("On" for
    the example's "Enabled", a gap the PutBackupVault case names), in the emulator's region."""
    body = copy.deepcopy(load_example("VaultCRUD/PutBackupVault.json")["parameters"]["parameters"])
    body["location"] = LOCATION
    body["properties"]["securitySettings"]["softDeleteSettings"]["state"] = "On"
    return body


VAULT_BODY = seeded_vault_body()


def instance_properties(disk: str, name: str | None = None) -> dict[str, Any]:
    return {
        "objectType": "BackupInstance",
        "friendlyName": name or disk.rsplit("/", 1)[-1],
        "dataSourceInfo": datasource(disk),
        "dataSourceSetInfo": datasource(disk, "DatasourceSet"),
        "policyInfo": {
            "policyId": f"{VAULT.id}/backupPolicies/{POLICY}",
            "policyParameters": {
                "dataStoreParametersList": [
                    {
                        "dataStoreType": "OperationalStore",
                        "objectType": "AzureOperationalStoreParameters",
                        "resourceGroupId": f"{GROUPS}/rg-snaps",
                    }
                ]
            },
        },
    }


async def protect(api: HostApi, name: str, disk: str) -> None:
    path = f"{vault_path(VAULT)}/backupInstances/{name}"
    answer = await api.call("PUT", path, {"properties": instance_properties(disk)})
    assert answer.status in (200, 201), answer.body


class HostApi:
    """Requests over HTTP to the app in the local Functions host, each answer checked against
    the OpenAPI document as the router-level tests check theirs."""

    def __init__(self, host: FunctionsHost, session: aiohttp.ClientSession) -> None:
        self.base = host.api_base_url
        self.session = session

    async def call(self, method: str, path: str, body: Any = None, *, query: str = "") -> Answer:
        url = f"{self.base}{path}?api-version=2026-06-01" + (f"&{query}" if query else "")
        sent = None if body is None else json.dumps(body).encode()
        headers = {"x-functions-key": HOST_KEY, "Content-Type": "application/json"}
        async with self.session.request(method, url, data=sent, headers=headers) as response:
            text = await response.text()
            answer = Answer(response.status, json.loads(text) if text else None, dict(response.headers))
        check_answer(method, path, answer.status, answer.body, answer.headers)
        return answer


async def final_result(api: HostApi, answer: Answer) -> Answer:
    """Where the SDK's poller ends for a 202: a GET of ``Location``."""
    return await api.call("GET", urlsplit(answer.headers["Location"]).path.removeprefix("/api"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(azurite: AzuriteEndpoints, compute_emulator: EmulatorServer) -> AsyncIterator[Stack]:
    await reset_storage(azurite)
    compute_emulator.admin.reset(SEED)
    clock = ManualClock(START)
    arm_clock = ShiftedClock()
    offset = clock.now() - datetime.now(UTC)
    compute_emulator.admin.set_clock_offset(offset.total_seconds())
    arm_clock.offset = offset
    settings = Settings(
        storage_connection_string=azurite.connection_string,
        arm_endpoint=compute_emulator.url,
        arm_ca_bundle=compute_emulator.ca_bundle,
        arm_static_token=TOKEN,
    )
    runtime = Runtime.from_settings(
        settings,
        clock=clock,
        arm_retry_total=1,
        arm_polling_interval=0,
        arm_clock=arm_clock,
        auth_enabled=False,
        retry_after_seconds=0,
    )
    use_runtime(runtime)
    # The module drains the backup queue itself, so that the host's workers race nothing.
    quiet = {"AzureWebJobs.run-backup.Disabled": "true", "AzureWebJobs.run-restore.Disabled": "true"}
    try:
        async with (
            project_host(azurite.connection_string, **quiet) as host,
            aiohttp.ClientSession() as session,
        ):
            yield await seeded(Stack(HostApi(host, session), runtime))
    finally:
        use_runtime(None)
        await runtime.close()


async def seeded(stack: Stack) -> Stack:
    api, runtime = stack.api, stack.runtime
    assert (await api.call("PUT", vault_path(VAULT), VAULT_BODY)).status == 201
    policy = await api.call("PUT", f"{vault_path(VAULT)}/backupPolicies/{POLICY}", SEEDED_POLICY)
    assert policy.status in (200, 201), policy.body
    await protect(api, INSTANCE, disk_id(DISKS[0]))

    backup = await api.call(
        "POST",
        f"{vault_path(VAULT)}/backupInstances/{INSTANCE}/backup",
        {
            "backupRuleOptions": {
                "ruleName": "BackupWeekly",
                "triggerOption": {"retentionTagOverride": "Default"},
            }
        },
    )
    assert backup.status == 202, backup.body
    stack.operation = urlsplit(backup.headers["Azure-AsyncOperation"]).path.rsplit("/", 1)[-1]
    stack.backup_job = (await final_result(api, backup)).body["jobId"]
    assert await drain_backup_queue(runtime) != []
    job = await runtime.store.get_job(VAULT, stack.backup_job)
    assert job.recovery_point_id is not None, job
    stack.recovery_point = job.recovery_point_id

    assert (await api.call("PUT", f"{GUARDS_PATH}/{GUARD.name}", GUARD_BODY)).status == 201
    assert (await api.call("PUT", vault_path(GUARDED_VAULT), VAULT_BODY)).status == 201
    await link(api, GUARDED_VAULT)
    await approve_key_holder(runtime)
    return stack


# --- adapters: an example's request for a PostgreSQL or blob datasource, made about a disk -------


def disk_instance_request(example: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The PostgreSQL instance of the example, as the same request about a disk: the datasource
    and datasource set are the disk (as Azure shows them for disks), the policy is ours, and the
    datasource credentials and user-assigned identity (a Key Vault secret and a UAMI that exist
    only in Azure's example) are left out."""
    properties = copy.deepcopy(example.get("properties", example))
    properties["dataSourceInfo"] = datasource(names["disk"])
    properties["dataSourceSetInfo"] = datasource(names["disk"], "DatasourceSet")
    properties.pop("datasourceAuthCredentials", None)
    properties.pop("identityDetails", None)
    properties["friendlyName"] = names["disk"].rsplit("/", 1)[-1]
    ours = instance_properties(names["disk"])["policyInfo"]
    properties["policyInfo"] = {**properties["policyInfo"], **ours}
    return {"properties": properties} if "properties" in example else properties


def wrapped_instance_request(example: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {"backupInstance": disk_instance_request(example["backupInstance"], names)}


def disk_policy_request(example: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The example's PostgreSQL policy as a disk policy: the OperationalStore instead of the
    VaultStore, incremental snapshots instead of full backups, a daily schedule (disks allow
    PT1H..PT12H and P1D, not P1W) and the weekly tag on the first backup of the week (disks tag by
    ``absoluteCriteria``, not by days of the week). Retention durations are kept as written."""
    body = copy.deepcopy(example)
    properties = body["properties"]
    properties["datasourceTypes"] = [DISK_TYPE]
    for rule in properties["policyRules"]:
        for store in [rule.get("dataStore")] + [lc["sourceDataStore"] for lc in rule.get("lifecycles", [])]:
            if store is not None:
                store["dataStoreType"] = "OperationalStore"
        if "backupParameters" in rule:
            rule["backupParameters"]["backupType"] = "Incremental"
            schedule = rule["trigger"]["schedule"]
            schedule["repeatingTimeIntervals"] = [
                interval.replace("/P1W", "/P1D") for interval in schedule["repeatingTimeIntervals"]
            ]
            for criterion in rule["trigger"]["taggingCriteria"]:
                if "criteria" in criterion:
                    criterion["criteria"] = [
                        {"objectType": "ScheduleBasedBackupCriteria", "absoluteCriteria": ["FirstOfWeek"]}
                    ]
    return body


# The vault's policy: Azure's example policy, made for disks (so GET and list compare like with like).
SEEDED_POLICY = disk_policy_request(
    load_example("PolicyCRUD/CreateOrUpdateBackupPolicy.json")["parameters"]["parameters"], {}
)


def disk_restore_request(example: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The example's PostgreSQL restore as a restore of our recovery point to a new disk: the
    disk's OperationalStore (disks have no VaultStore), a target disk in rg-restore, and without
    the example's Key Vault credentials, database set and UAMI."""
    body = copy.deepcopy(example)
    body["recoveryPointId"] = names["rp"]
    body["sourceDataStoreType"] = "OperationalStore"
    body["sourceResourceId"] = disk_id(DISKS[0])
    body.pop("identityDetails", None)
    target = body["restoreTargetInfo"]
    target.pop("datasourceAuthCredentials", None)
    target.pop("datasourceSetInfo", None)
    target["restoreLocation"] = LOCATION
    target["datasourceInfo"] = datasource(disk_id(f"restored-{next(RESTORED)}", "rg-restore"))
    return body


RESTORED = itertools.count()


def disk_validate_restore_request(example: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {**example, "restoreRequestObject": disk_restore_request(example["restoreRequestObject"], names)}


def docs_cased_validate_restore_request(example: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The same request with the casing of the REST docs' disk walkthrough ("Restore Azure Disks
    using Azure Data Protection REST API"): ``dataSourceInfo`` and ``"objectType":
    "restoreTargetInfo"``. Azure's service matches names and discriminators case-insensitively."""
    body = disk_validate_restore_request(example, names)
    target = body["restoreRequestObject"]["restoreTargetInfo"]
    target["dataSourceInfo"] = target.pop("datasourceInfo")
    target["objectType"] = "restoreTargetInfo"
    return body


def seeded_window_request(example: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The example's window (2020-2021) moved around this module's recovery point, so that a
    disk's discrete points can answer as ranges."""
    return {**example, "startTime": "2026-11-01T00:00:00Z", "endTime": "2026-11-03T00:00:00Z"}


def seeded_guard_proxy_request(example: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The example's link, to this module's guard (the example's guard is in another tenant)."""
    body = copy.deepcopy(example)
    body["properties"]["resourceGuardResourceId"] = names["guard_id"]
    return body


def seeded_unlock_delete_request(example: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The example's unlock of an instance delete, for the seeded guard's request and an instance
    of the linked vault."""
    return {
        "resourceGuardOperationRequests": [f"{names['guard_id']}/deleteBackupInstanceRequests/default"],
        "resourceToBeDeleted": f"{GUARDED_VAULT.id}/backupInstances/{names['instance']}",
    }


def disk_adhoc_backup_request(example: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The example's rule (our seeded policy is Azure's example policy, made for disks) with a tag
    that policy has: the example's ``yearly`` belongs to a policy the examples do not show."""
    body = copy.deepcopy(example)
    body["backupRuleOptions"]["triggerOption"]["retentionTagOverride"] = "Default"
    return body


# --- the cases ------------------------------------------------------------------------------------

VAULTS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DataProtection/backupVaults"
VAULT_PATH = VAULTS + "/{vault}"
INSTANCE_PATH = VAULT_PATH + "/backupInstances/{instance}"
VAULT_ENUMS = {**ENUM_PROPERTIES, **VAULT_ENUM_PROPERTIES}
GUARDS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DataProtection/resourceGuards"
GUARD_PATH = GUARDS + "/{guard}"
GUARDED_VAULT_PATH = VAULTS + "/" + GUARDED_VAULT.name
# A guard's provisioningState is the same ProvisioningState enumeration as a vault's.
GUARD_ENUMS = VAULT_ENUMS
# Tag names are the caller's data, not shape (the examples' own answers show other tags than their
# requests send); that ``tags`` is an object is still checked.
GUARD_TAGS = frozenset({"tags.TestKey"})


@dataclass(frozen=True)
class Case:
    example: str
    method: str
    path: str
    request: Callable[[Any, dict[str, str]], Any] | None = None
    """Turns the example's request body into ours; None sends it verbatim (or no body)."""
    target: str = ""
    """What the case needs of its own because it creates, changes or deletes it: ``new-vault``
    (an unused vault name), ``vault``, ``new-policy``, ``policy``, ``new-instance`` (an unused
    name and an unprotected disk), ``instance``, or one stopped, suspended or (soft) deleted,
    ``new-guard``, ``guard``, ``new-proxy`` (a vault not linked to a guard) or ``proxy`` (a vault
    linked to the seeded guard)."""
    ignore: frozenset[str] = frozenset()
    enums: dict[str, str] = field(default_factory=lambda: ENUM_PROPERTIES)
    query: str = ""
    result_example: str = ""
    """Another example whose 200 describes where this case's 202 ends (export's result)."""
    same_values: tuple[str, ...] = ()
    """Dotted paths whose value must be the example's (REST values the swagger does not enumerate)."""


def gap(reason: str) -> Any:
    return pytest.mark.xfail(strict=True, reason=reason)


def case(
    example: str, method: str, path: str, *, xfail: str | None = None, id: str = "", **options: Any
) -> Any:
    marks = [gap(xfail)] if xfail else []
    name = example.removesuffix(".json").replace("/", ".") + (f"[{id}]" if id else "")
    return pytest.param(Case(example, method, path, **options), marks=marks, id=name)


SUBSCRIPTION_PROVIDER = "/subscriptions/{sub}/providers/Microsoft.DataProtection"
# Checked by the GetBackupInstance case itself; the state variants look at the state only.
# Disk instances carry no datasource credentials and, here, no user-assigned identity.
NOT_FOR_DISK_INSTANCES = frozenset({"properties.identityDetails"})
WEEKDAY_TAGS = frozenset(
    {
        # Disks tag a weekly backup by absoluteCriteria (FirstOfWeek), not by weekday and time.
        "properties.policyRules[].trigger.taggingCriteria[].criteria[].daysOfTheWeek",
        "properties.policyRules[].trigger.taggingCriteria[].criteria[].scheduleTimes",
    }
)
# Validations run synchronously and leave no job a user could GET, so their result has no jobId
# (Azure's examples show one; what it names is not documented).
NO_VALIDATION_JOB = frozenset({"jobId"})
# Azure's example lists [""] (one empty action) for a finished job; no actions is [] here.
NO_ACTION_PLACEHOLDER = frozenset({"value[].properties.supportedActions[]"})
LISTED_WEEKDAY_TAGS = frozenset("value[]." + path for path in WEEKDAY_TAGS)

CASES = [
    # Vaults
    case(
        "VaultCRUD/PutBackupVault.json",
        "PUT",
        VAULT_PATH,
        target="new-vault",
        enums=VAULT_ENUMS,
    ),
    case("VaultCRUD/GetBackupVault.json", "GET", VAULT_PATH, enums=VAULT_ENUMS),
    case("VaultCRUD/PatchBackupVault.json", "PATCH", VAULT_PATH, target="vault", enums=VAULT_ENUMS),
    case("VaultCRUD/DeleteBackupVault.json", "DELETE", VAULT_PATH, target="vault"),
    case(
        "VaultCRUD/GetBackupVaultsInResourceGroup.json",
        "GET",
        VAULTS,
        enums=VAULT_ENUMS,
    ),
    case(
        "VaultCRUD/GetBackupVaultsInSubscription.json",
        "GET",
        SUBSCRIPTION_PROVIDER + "/backupVaults",
        enums=VAULT_ENUMS,
    ),
    case(
        "VaultCRUD/CheckBackupVaultsNameAvailability.json",
        "POST",
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DataProtection/locations/{location}"
        "/checkNameAvailability",
    ),
    # Policies (Azure's examples are PostgreSQL policies; see disk_policy_request)
    case(
        "PolicyCRUD/CreateOrUpdateBackupPolicy.json",
        "PUT",
        VAULT_PATH + "/backupPolicies/{policy}",
        request=disk_policy_request,
        target="new-policy",
        ignore=WEEKDAY_TAGS,
    ),
    case(
        "PolicyCRUD/GetBackupPolicy.json", "GET", VAULT_PATH + "/backupPolicies/{policy}", ignore=WEEKDAY_TAGS
    ),
    case(
        "PolicyCRUD/ListBackupPolicy.json", "GET", VAULT_PATH + "/backupPolicies", ignore=LISTED_WEEKDAY_TAGS
    ),
    case(
        "PolicyCRUD/DeleteBackupPolicy.json",
        "DELETE",
        VAULT_PATH + "/backupPolicies/{policy}",
        target="policy",
    ),
    # Backup instances (Azure's examples are PostgreSQL instances; see disk_instance_request)
    case(
        "BackupInstanceOperations/PutBackupInstance.json",
        "PUT",
        INSTANCE_PATH,
        request=disk_instance_request,
        target="new-instance",
    ),
    case(
        "BackupInstanceOperations/GetBackupInstance.json",
        "GET",
        INSTANCE_PATH,
        ignore=NOT_FOR_DISK_INSTANCES,
    ),
    # The same GET of instances in other states: their protectionStatus must be one of Azure's.
    *(
        case(
            "BackupInstanceOperations/GetBackupInstance.json",
            "GET",
            INSTANCE_PATH,
            target=f"{state}-instance",
            id=state,
            ignore=NOT_FOR_DISK_INSTANCES,
            xfail=xfail,
        )
        for state, xfail in (
            ("stopped", None),
            ("suspended", None),
            ("errored", None),
        )
    ),
    case(
        "BackupInstanceOperations/ListBackupInstances.json",
        "GET",
        VAULT_PATH + "/backupInstances",
    ),
    case("BackupInstanceOperations/DeleteBackupInstance.json", "DELETE", INSTANCE_PATH, target="instance"),
    case(
        "BackupInstanceOperations/ValidateForBackup.json",
        "POST",
        VAULT_PATH + "/validateForBackup",
        request=wrapped_instance_request,
        ignore=NO_VALIDATION_JOB,
        target="new-instance",
    ),
    case(
        "BackupInstanceOperations/TriggerBackup.json",
        "POST",
        INSTANCE_PATH + "/backup",
        request=disk_adhoc_backup_request,
    ),
    case(
        "BackupInstanceOperations/StopProtection.json",
        "POST",
        INSTANCE_PATH + "/stopProtection",
        target="instance",
    ),
    case(
        "BackupInstanceOperations/SuspendBackups.json",
        "POST",
        INSTANCE_PATH + "/suspendBackups",
        target="instance",
    ),
    case(
        "BackupInstanceOperations/ResumeProtection.json",
        "POST",
        INSTANCE_PATH + "/resumeProtection",
        target="stopped-instance",
    ),
    case(
        "BackupInstanceOperations/ResumeBackups.json",
        "POST",
        INSTANCE_PATH + "/resumeBackups",
        target="suspended-instance",
    ),
    case(
        "BackupInstanceOperations/ValidateRestore.json",
        "POST",
        INSTANCE_PATH + "/validateRestore",
        request=disk_validate_restore_request,
        ignore=NO_VALIDATION_JOB,
    ),
    case(
        "BackupInstanceOperations/ValidateRestore.json",
        "POST",
        INSTANCE_PATH + "/validateRestore",
        request=docs_cased_validate_restore_request,
        ignore=NO_VALIDATION_JOB,
        id="docs-casing",
    ),
    case(
        "BackupInstanceOperations/TriggerRestore.json",
        "POST",
        INSTANCE_PATH + "/restore",
        request=disk_restore_request,
    ),
    case(
        "BackupInstanceOperations/ListBackupInstancesExtensionRouting.json",
        "GET",
        "{disk}/providers/Microsoft.DataProtection/backupInstances",
    ),
    # Soft-deleted instances (the seeded vault keeps deleted instances 14 days, as Azure's example)
    case(
        "DeletedBackupInstanceOperations/GetDeletedBackupInstance.json",
        "GET",
        VAULT_PATH + "/deletedBackupInstances/{instance}",
        target="deleted-instance",
    ),
    case(
        "DeletedBackupInstanceOperations/ListDeletedBackupInstances.json",
        "GET",
        VAULT_PATH + "/deletedBackupInstances",
        target="deleted-instance",
    ),
    case(
        "DeletedBackupInstanceOperations/UndeleteDeletedBackupInstance.json",
        "POST",
        VAULT_PATH + "/deletedBackupInstances/{instance}/undelete",
        target="deleted-instance",
    ),
    case(
        "BackupInstanceOperations/GetBackupInstanceOperationResult.json",
        "GET",
        INSTANCE_PATH + "/operationResults/{operation}",
        target="stopped-instance",
    ),
    # Recovery points (Azure's examples list a vault-tier copy too; a disk's points have one snapshot)
    case("BackupInstanceOperations/GetRecoveryPoint.json", "GET", INSTANCE_PATH + "/recoveryPoints/{rp}"),
    case("BackupInstanceOperations/ListRecoveryPoints.json", "GET", INSTANCE_PATH + "/recoveryPoints"),
    # Jobs (Azure's examples are PostgreSQL backup jobs)
    case(
        "JobCRUD/GetJob.json",
        "GET",
        VAULT_PATH + "/backupJobs/{job}",
        # The seeded job is an on-demand backup: Azure's is "Backup" too (ListJobs.json shows one
        # with isUserTriggered true); isUserTriggered tells them apart.
        same_values=("properties.operation", "properties.operationCategory"),
    ),
    case("JobCRUD/ListJobs.json", "GET", VAULT_PATH + "/backupJobs", ignore=NO_ACTION_PLACEHOLDER),
    # Resource guards (multi-user authorization); the function key's holder creates them, so
    # holds the role that changes and deletes them
    case(
        "ResourceGuardCRUD/PutResourceGuard.json",
        "PUT",
        GUARD_PATH,
        target="new-guard",
        enums=GUARD_ENUMS,
        ignore=GUARD_TAGS,
    ),
    case("ResourceGuardCRUD/GetResourceGuard.json", "GET", GUARD_PATH, enums=GUARD_ENUMS, ignore=GUARD_TAGS),
    case(
        "ResourceGuardCRUD/PatchResourceGuard.json",
        "PATCH",
        GUARD_PATH,
        target="guard",
        enums=GUARD_ENUMS,
        ignore=GUARD_TAGS,
    ),
    case("ResourceGuardCRUD/DeleteResourceGuard.json", "DELETE", GUARD_PATH, target="guard"),
    case(
        "ResourceGuardCRUD/GetResourceGuardsInResourceGroup.json",
        "GET",
        GUARDS,
        enums=GUARD_ENUMS,
        ignore=frozenset("value[]." + path for path in GUARD_TAGS),
    ),
    case(
        "ResourceGuardCRUD/GetResourceGuardsInSubscription.json",
        "GET",
        SUBSCRIPTION_PROVIDER + "/resourceGuards",
        enums=GUARD_ENUMS,
        ignore=frozenset("value[]." + path for path in GUARD_TAGS),
    ),
    # A vault's link to a guard; deleting it and unlocking a delete are critical operations, which
    # the seeded approval lets the function key's holder perform
    case(
        "ResourceGuardProxyCRUD/PutResourceGuardProxy.json",
        "PUT",
        VAULT_PATH + "/backupResourceGuardProxies/{proxy}",
        request=seeded_guard_proxy_request,
        target="new-proxy",
    ),
    case(
        "ResourceGuardProxyCRUD/GetResourceGuardProxy.json",
        "GET",
        GUARDED_VAULT_PATH + "/backupResourceGuardProxies/{proxy}",
    ),
    case(
        "ResourceGuardProxyCRUD/ListResourceGuardProxy.json",
        "GET",
        GUARDED_VAULT_PATH + "/backupResourceGuardProxies",
    ),
    case(
        "ResourceGuardProxyCRUD/DeleteResourceGuardProxy.json",
        "DELETE",
        VAULT_PATH + "/backupResourceGuardProxies/{proxy}",
        target="proxy",
    ),
    case(
        "ResourceGuardProxyCRUD/UnlockDeleteResourceGuardProxy.json",
        "POST",
        GUARDED_VAULT_PATH + "/backupResourceGuardProxies/{proxy}/unlockDelete",
        request=seeded_unlock_delete_request,
    ),
    # Long-running operations
    case(
        "GetOperationStatus.json",
        "GET",
        SUBSCRIPTION_PROVIDER + "/locations/{location}/operationStatus/{operation}",
    ),
    case("GetOperationStatusVaultContext.json", "GET", VAULT_PATH + "/operationStatus/{operation}"),
    case(
        "GetOperationStatusRGContext.json",
        "GET",
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DataProtection/operationStatus/{operation}",
    ),
    case(
        "GetOperationResult.json",
        "GET",
        SUBSCRIPTION_PROVIDER + "/locations/{location}/operationResults/{operation}",
    ),
    # Operations other work is adding now
    case(
        "BackupInstanceOperations/SyncBackupInstance.json",
        "POST",
        INSTANCE_PATH + "/sync",
    ),
    case(
        "BackupInstanceOperations/ValidateForModifyBackup.json",
        "POST",
        INSTANCE_PATH + "/validateForModifyBackup",
        request=wrapped_instance_request,
    ),
    case(
        "BackupInstanceOperations/FindRestorableTimeRanges.json",
        "POST",
        INSTANCE_PATH + "/findRestorableTimeRanges",
        request=seeded_window_request,
    ),
    # JobCRUD/TriggerExportJobs.json and GetExportJobsOperationResult.json: the export needs storage
    # that signs user-delegation SAS, which this stack's connection string cannot;
    # test_azure_examples_more_operations.py sends both against an Azurite with Entra sign-in.
    case(
        "CheckfeatureSupport.json",
        "POST",
        SUBSCRIPTION_PROVIDER + "/locations/{location}/checkFeatureSupport",
    ),
    case(
        "Operations/List.json",
        "GET",
        "/providers/Microsoft.DataProtection/operations",
    ),
]


def value_at(body: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        body = body.get(key) if isinstance(body, dict) else None
    return body


@pytest.mark.parametrize("case", CASES)
async def test_azure_example_is_answered_in_azures_shape(stack: Stack, case: Case) -> None:
    example = load_example(case.example)
    names = await stack.target(case.target)
    sent = example["parameters"].get("parameters")
    if case.request is not None:
        sent = case.request(sent, names)
    path = case.path.format(**names)
    answer = await stack.api.call(case.method, path, sent, query=case.query)
    documented = example["responses"]
    assert str(answer.status) in documented, (
        f"{case.method} {path} answered {answer.status}, Azure's example documents {sorted(documented)}: "
        f"{answer.body}"
    )
    expected = documented[str(answer.status)].get("body")
    ending = load_example(case.result_example)["responses"] if case.result_example else documented
    if answer.status == 202 and "200" in ending:
        answer = await final_result(stack.api, answer)
        assert answer.status == 200, answer.body
        expected = ending["200"].get("body")
    if expected is None:
        return
    mismatches = shape_mismatches(expected, answer.body, ignore=case.ignore, enums=case.enums)
    for dotted in case.same_values:
        theirs, mine = value_at(expected, dotted), value_at(answer.body, dotted)
        if mine != theirs:
            mismatches.append(f"{dotted}: {mine!r} where Azure has {theirs!r}")
    assert not mismatches, f"{case.example}: ours differs from Azure's example:\n  " + "\n  ".join(mismatches)
