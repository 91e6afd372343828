"""A corpus of hostile and broken requests, through the router against Azurite.

Complements the per-resource tables in ``test_vaults_and_policies.py`` and ``test_instances.py``
with the classes of bad input a public endpoint meets: malformed, oversized and deeply nested
JSON, wrong types at each level of each body, unknown ``objectType``s, missing properties,
OData injection, foreign scopes and hostile names. Every case must answer a 4xx with an ARM
error body naming the problem, and leave every stored row (both tables, every partition)
exactly as it was.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote as url_quote

import pytest

from backup.domain.instance import BackupInstance, VaultRef
from backup.domain.models import ProtectionState
from backup.domain.records import PlanState
from backup.names import VAULT_DATA_TABLE, VAULTS_TABLE
from tests.integration.api.conftest import DEFAULT_POLICY, SUB, Api, vault_body, vault_path

pytestmark = pytest.mark.integration

OTHER_SUB = "00000000-0000-0000-0000-0000000000cd"
DISK_RG = f"/subscriptions/{SUB}/resourceGroups/rg-src"
DISK = f"{DISK_RG}/providers/Microsoft.Compute/disks/disk-a"
SNAPSHOT_RG = f"/subscriptions/{SUB}/resourceGroups/rg-snaps"
RECOVERY_POINT = "0123456789abcdef0123456789abcdef"
DEEP = 10_000
VAULT_PROVIDER = "/providers/Microsoft.DataProtection"


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    """Relative to the test vault's path when it starts with ``/`` + a resource type, else absolute."""
    body: Any = None
    raw: bytes | None = None
    query: str = ""
    status: int = 400
    code: str = "InvalidRequestContent"
    target: str | None = None


def _set(document: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A copy of ``document`` with the field at ``dotted`` (``a.b.0.c``) set, or removed by ``_DROP``."""
    changed = copy.deepcopy(document)
    node: Any = changed
    *parents, last = dotted.split(".")
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    key: Any = int(last) if last.isdigit() else last
    if value is _DROP:
        del node[key]
    else:
        node[key] = value
    return changed


_DROP: Any = object()


def policy(dotted: str | None = None, value: Any = None) -> dict[str, Any]:
    body = {"properties": copy.deepcopy(DEFAULT_POLICY)}
    return body if dotted is None else _set(body, dotted, value)


def instance(vault: VaultRef, dotted: str | None = None, value: Any = None) -> dict[str, Any]:
    body = {
        "properties": {
            "objectType": "BackupInstance",
            "dataSourceInfo": {
                "objectType": "Datasource",
                "datasourceType": "Microsoft.Compute/disks",
                "resourceID": DISK,
                "resourceLocation": "westus",
                "resourceType": "Microsoft.Compute/disks",
            },
            "policyInfo": {
                "policyId": f"{vault.id}/backupPolicies/p1",
                "policyParameters": {
                    "dataStoreParametersList": [
                        {
                            "objectType": "AzureOperationalStoreParameters",
                            "dataStoreType": "OperationalStore",
                            "resourceGroupId": SNAPSHOT_RG,
                        }
                    ]
                },
            },
        }
    }
    return body if dotted is None else _set(body, dotted, value)


def restore(dotted: str | None = None, value: Any = None) -> dict[str, Any]:
    body = {
        "objectType": "AzureBackupRecoveryPointBasedRestoreRequest",
        "recoveryPointId": RECOVERY_POINT,
        "sourceDataStoreType": "OperationalStore",
        "restoreTargetInfo": {
            "objectType": "RestoreTargetInfo",
            "recoveryOption": "FailIfExists",
            "restoreLocation": "westus",
            "datasourceInfo": {
                "objectType": "Datasource",
                "datasourceType": "Microsoft.Compute/disks",
                "resourceID": f"{DISK_RG}/providers/Microsoft.Compute/disks/restored",
                "resourceType": "Microsoft.Compute/disks",
            },
        },
    }
    return body if dotted is None else _set(body, dotted, value)


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def cases(vault: VaultRef) -> list[Case]:
    policy_path = "/backupPolicies/p2"
    instance_path = "/backupInstances/bi-new"
    restore_path = "/backupInstances/bi-a/restore"
    validate_restore_path = "/backupInstances/bi-a/validateRestore"
    adhoc_path = "/backupInstances/bi-a/backup"
    rules = "properties.policyRules"
    trigger = f"{rules}.0.trigger"
    source = "properties.dataSourceInfo"
    store_parameters = "properties.policyInfo.policyParameters.dataStoreParametersList"
    target_info = "restoreTargetInfo"
    datasource = f"{target_info}.datasourceInfo"
    overrides = f"{datasource}.resourceProperties"
    rg_path = f"/subscriptions/{SUB}/resourceGroups/{vault.resource_group}"
    vaults_path = f"{rg_path}/providers/Microsoft.DataProtection/backupVaults"
    return [
        # --- malformed JSON ---
        Case("vault: truncated", "PUT", "", raw=b'{"location": '),
        Case("vault: trailing garbage", "PUT", "", raw=b'{"location": "westus"} x'),
        Case("vault: NaN", "PUT", "", raw=b'{"location": NaN}'),
        Case("vault: not UTF-8", "PUT", "", raw=b'{"location": "\xff\xfe"}'),
        Case("vault: empty body", "PUT", "", raw=b""),
        Case("policy: single quotes", "PUT", policy_path, raw=b"{'properties': {}}"),
        Case("instance: comment", "PUT", instance_path, raw=b'{/* x */ "properties": {}}'),
        Case("restore: a bare string", "POST", restore_path, raw=b'"restore"'),
        Case("restore: an array", "POST", restore_path, body=[restore()]),
        Case("adhoc backup: truncated", "POST", adhoc_path, raw=b'{"backupRuleOptions": {'),
        # --- oversized ---
        *(
            Case(f"{what}: oversized", method, path, raw=big, status=413, code="RequestEntityTooLarge")
            for what, method, path in (
                ("vault", "PUT", ""),
                ("policy", "PUT", policy_path),
                ("instance", "PUT", instance_path),
                ("restore", "POST", restore_path),
            )
            for big in [b'{"properties": {"x": "' + b"y" * 2_000_000 + b'"}}']
        ),
        # --- deeply nested ---
        Case("vault: 10,000 nested arrays", "PUT", "", raw=b"[" * DEEP + b"]" * DEEP),
        Case("policy: 10,000 nested objects", "PUT", policy_path, raw=json_nested(DEEP)),
        Case("instance: 10,000 nested objects", "PUT", instance_path, raw=json_nested(DEEP)),
        Case("restore: 10,000 nested objects", "POST", restore_path, raw=json_nested(DEEP)),
        Case(
            "policy: deep unknown field beside a bad rule",
            "PUT",
            policy_path,
            body=_set(policy(f"{rules}.0.name", 5), "properties.extra", nested(400)),
            code="InvalidPropertyType",
            target=f"{rules}[0].name",
        ),
        # --- wrong types at each level ---
        Case("vault: body an array", "PUT", "", body=[vault_body()]),
        Case(
            "vault: location a number", "PUT", "", body=_set(vault_body(), "location", 7), target="location"
        ),
        Case(
            "vault: storageSettings an object",
            "PUT",
            "",
            body=_set(vault_body(), "properties.storageSettings", {"datastoreType": "OperationalStore"}),
            target="properties.storageSettings",
        ),
        Case(
            "vault: storageSettings item a string",
            "PUT",
            "",
            body=_set(vault_body(), "properties.storageSettings.0", "OperationalStore"),
            target="properties.storageSettings[0]",
        ),
        Case("vault: tags an array", "PUT", "", body=vault_body(tags=["a"]), target="tags"),
        Case(
            "vault: identity a string",
            "PUT",
            "",
            body=vault_body(identity="SystemAssigned"),
            target="identity",
        ),
        Case(
            "vault: soft delete days a string",
            "PUT",
            "",
            body=_set(
                vault_body(),
                "properties.securitySettings",
                {"softDeleteSettings": {"state": "On", "retentionDurationInDays": "14"}},
            ),
            code="InvalidPropertyValue",
            target="properties.securitySettings.softDeleteSettings.retentionDurationInDays",
        ),
        Case(
            "policy: properties a string",
            "PUT",
            policy_path,
            body={"properties": "BackupPolicy"},
            target="properties",
        ),
        Case(
            "policy: datasourceTypes a string",
            "PUT",
            policy_path,
            body=policy("properties.datasourceTypes", "Microsoft.Compute/disks"),
            code="InvalidPropertyType",
            target="properties.datasourceTypes",
        ),
        Case(
            "policy: a rule a number",
            "PUT",
            policy_path,
            body=policy(f"{rules}.0", 1),
            code="InvalidPropertyType",
            target=f"{rules}[0]",
        ),
        Case(
            "policy: trigger a string",
            "PUT",
            policy_path,
            body=policy(trigger, "hourly"),
            code="InvalidPropertyType",
            target=f"{rules}[0].trigger",
        ),
        Case(
            "policy: intervals a string",
            "PUT",
            policy_path,
            body=policy(f"{trigger}.schedule.repeatingTimeIntervals", "R/2020-04-05T13:00:00+00:00/PT4H"),
            code="InvalidPropertyType",
            target=f"{rules}[0].trigger.schedule.repeatingTimeIntervals",
        ),
        Case(
            "policy: priority a string",
            "PUT",
            policy_path,
            body=policy(f"{trigger}.taggingCriteria.0.taggingPriority", "99"),
            code="InvalidPropertyType",
            target=f"{rules}[0].trigger.taggingCriteria[0].taggingPriority",
        ),
        Case(
            "policy: isDefault a string",
            "PUT",
            policy_path,
            body=policy(f"{rules}.1.isDefault", "true"),
            code="InvalidPropertyType",
            target=f"{rules}[1].isDefault",
        ),
        Case(
            "policy: duration a number",
            "PUT",
            policy_path,
            body=policy(f"{rules}.1.lifecycles.0.deleteAfter.duration", 7),
            code="InvalidPropertyType",
            target=f"{rules}[1].lifecycles[0].deleteAfter.duration",
        ),
        Case("instance: properties an array", "PUT", instance_path, body={"properties": []}),
        Case(
            "instance: dataSourceInfo an array",
            "PUT",
            instance_path,
            body=instance(vault, source, [DISK]),
            target=source,
        ),
        Case(
            "instance: resourceID a number",
            "PUT",
            instance_path,
            body=instance(vault, f"{source}.resourceID", 42),
            code="InvalidResourceId",
            target=f"{source}.resourceID",
        ),
        Case(
            "instance: policyParameters a string",
            "PUT",
            instance_path,
            body=instance(vault, "properties.policyInfo.policyParameters", "rg-snaps"),
            target="properties.policyInfo.policyParameters",
        ),
        Case(
            "instance: store parameter a string",
            "PUT",
            instance_path,
            body=instance(vault, f"{store_parameters}.0", SNAPSHOT_RG),
            target="properties.policyInfo.policyParameters.dataStoreParametersList[0]",
        ),
        Case(
            "instance: friendlyName a number",
            "PUT",
            instance_path,
            body=instance(vault, "properties.friendlyName", 5),
            target="properties.friendlyName",
        ),
        Case(
            "instance: useSystemAssignedIdentity a string",
            "PUT",
            instance_path,
            body=instance(vault, "properties.identityDetails", {"useSystemAssignedIdentity": "yes"}),
            target="properties.identityDetails.useSystemAssignedIdentity",
        ),
        Case(
            "restore: restoreTargetInfo an array",
            "POST",
            restore_path,
            body=restore(target_info, []),
            target=target_info,
        ),
        Case(
            "restore: datasourceInfo a number",
            "POST",
            restore_path,
            body=restore(datasource, 3),
            target=datasource,
        ),
        Case(
            "restore: recoveryPointId a number",
            "POST",
            restore_path,
            body=restore("recoveryPointId", 12),
            target="recoveryPointId",
        ),
        Case(
            "restore: tags an array",
            "POST",
            restore_path,
            body=restore(overrides, {"objectType": "DefaultResourceProperties", "tags": ["a"]}),
            target=f"{overrides}.tags",
        ),
        Case(
            "restore: zone a number",
            "POST",
            restore_path,
            body=restore(overrides, {"objectType": "DefaultResourceProperties", "zone": 1}),
            target=f"{overrides}.zone",
        ),
        Case(
            "validate restore: restoreRequestObject a string",
            "POST",
            validate_restore_path,
            body={"objectType": "ValidateRestoreRequestObject", "restoreRequestObject": "x"},
            target="restoreRequestObject",
        ),
        Case(
            "adhoc backup: backupRuleOptions a string",
            "POST",
            adhoc_path,
            body={"backupRuleOptions": "BackupHourly"},
            target="backupRuleOptions",
        ),
        Case(
            "adhoc backup: retentionTagOverride a number",
            "POST",
            adhoc_path,
            body={
                "backupRuleOptions": {
                    "ruleName": "BackupHourly",
                    "triggerOption": {"retentionTagOverride": 1},
                }
            },
            target="backupRuleOptions.triggerOption.retentionTagOverride",
        ),
        # --- unknown objectType ---
        Case(
            "policy: objectType",
            "PUT",
            policy_path,
            body=policy("properties.objectType", "BackupPolicyV2"),
            code="UnsupportedObjectType",
            target="properties.objectType",
        ),
        Case(
            "policy: rule objectType",
            "PUT",
            policy_path,
            body=policy(f"{rules}.0.objectType", "AzureCopyRule"),
            code="UnsupportedObjectType",
            target=f"{rules}[0].objectType",
        ),
        Case(
            "policy: delete option objectType",
            "PUT",
            policy_path,
            body=policy(f"{rules}.1.lifecycles.0.deleteAfter.objectType", "RelativeDeleteOption"),
            code="UnsupportedObjectType",
            target=f"{rules}[1].lifecycles[0].deleteAfter.objectType",
        ),
        Case(
            "instance: objectType",
            "PUT",
            instance_path,
            body=instance(vault, "properties.objectType", "BackupInstanceV2"),
            target="properties.objectType",
        ),
        Case(
            "restore: objectType",
            "POST",
            restore_path,
            body=restore("objectType", "AzureBackupRestoreWithRehydrationRequest"),
            code="UserErrorRestoreRequestNotSupported",
            target="objectType",
        ),
        Case(
            "restore: target objectType",
            "POST",
            restore_path,
            body=restore(f"{target_info}.objectType", "ItemLevelRestoreTargetInfo"),
            code="UserErrorRestoreRequestNotSupported",
            target=f"{target_info}.objectType",
        ),
        Case(
            "restore: resourceProperties objectType",
            "POST",
            restore_path,
            body=restore(overrides, {"objectType": "KubernetesResourceProperties"}),
            code="InvalidPropertyValue",
            target=f"{overrides}.objectType",
        ),
        Case(
            "validate restore: objectType",
            "POST",
            validate_restore_path,
            body={"objectType": "ValidateForBackupRequest", "restoreRequestObject": restore()},
            target="objectType",
        ),
        # --- missing required properties ---
        Case(
            "vault: location", "PUT", "", body=_set(vault_body(), "location", _DROP), code="MissingProperty"
        ),
        Case(
            "policy: policyRules",
            "PUT",
            policy_path,
            body=policy("properties.policyRules", _DROP),
            code="MissingProperty",
            target="properties.policyRules",
        ),
        Case(
            "policy: schedule",
            "PUT",
            policy_path,
            body=policy(f"{trigger}.schedule", _DROP),
            code="MissingProperty",
            target=f"{rules}[0].trigger.schedule",
        ),
        Case(
            "policy: tagName",
            "PUT",
            policy_path,
            body=policy(f"{trigger}.taggingCriteria.0.tagInfo.tagName", _DROP),
            code="MissingProperty",
            target=f"{rules}[0].trigger.taggingCriteria[0].tagInfo.tagName",
        ),
        Case(
            "instance: resourceID",
            "PUT",
            instance_path,
            body=instance(vault, f"{source}.resourceID", _DROP),
            code="MissingProperty",
            target=f"{source}.resourceID",
        ),
        Case(
            "instance: policyId",
            "PUT",
            instance_path,
            body=instance(vault, "properties.policyInfo.policyId", _DROP),
            code="MissingProperty",
            target="properties.policyInfo.policyId",
        ),
        Case(
            "restore: recoveryPointId",
            "POST",
            restore_path,
            body=restore("recoveryPointId", _DROP),
            code="MissingProperty",
            target="recoveryPointId",
        ),
        Case(
            "restore: restoreLocation",
            "POST",
            restore_path,
            body=restore(f"{target_info}.restoreLocation", _DROP),
            code="MissingProperty",
            target=f"{target_info}.restoreLocation",
        ),
        Case(
            "restore: datasourceInfo",
            "POST",
            restore_path,
            body=restore(datasource, _DROP),
            code="MissingProperty",
            target=datasource,
        ),
        Case(
            "validate restore: restoreRequestObject",
            "POST",
            validate_restore_path,
            body={"objectType": "ValidateRestoreRequestObject"},
            code="MissingProperty",
            target="restoreRequestObject",
        ),
        Case(
            "adhoc backup: ruleName",
            "POST",
            adhoc_path,
            body={"backupRuleOptions": {"triggerOption": {}}},
            code="MissingProperty",
            target="backupRuleOptions.ruleName",
        ),
        # --- OData injection ---
        *(
            Case(
                f"jobs $filter: {text}",
                "GET",
                "/backupJobs",
                query="$filter=" + quote(text),
                code="InvalidQueryParameterValue",
                target="$filter",
            )
            for text in (
                "status eq 'Failed' or 1 eq 1",
                "status eq 'Failed'' or PartitionKey ne ''",
                "PartitionKey ne ''",
                "status eq 'Failed'; DROP TABLE vaultdata",
                "startTime ge datetime'2026-01-01T00:00:00Z'",
                "startTime ge ''",
                "isUserTriggered eq 'maybe'",
                "status eq 'Failed' and (status eq 'x')",
                "not status eq 'Failed'",
            )
        ),
        Case(
            "recovery points $filter: injection",
            "GET",
            "/backupInstances/bi-a/recoveryPoints",
            query="$filter=" + quote("startDate ge '2026' or RowKey ne ''"),
            code="InvalidQueryParameterValue",
            target="$filter",
        ),
        Case(
            "instances $filter: injection",
            "GET",
            f"/subscriptions/{SUB}/providers/Microsoft.DataProtection/backupInstances",
            query="$filter=" + quote("vaultName eq 'x' or PartitionKey ne ''"),
            code="InvalidQueryParameterValue",
            target="$filter",
        ),
        Case(
            "jobs $skipToken: forged",
            "GET",
            "/backupJobs",
            query="$skipToken=" + quote("' or RowKey ne '"),
            code="InvalidQueryParameterValue",
        ),
        Case(
            "policy name: quote",
            "PUT",
            "/backupPolicies/" + quote("p1' or RowKey ne '"),
            body=policy(),
            code="InvalidResourceName",
            target="backupPolicyName",
        ),
        Case(
            "instance name: OData",
            "GET",
            "/backupInstances/" + quote("bi-a' or PartitionKey ne '"),
            code="InvalidResourceName",
            target="backupInstanceName",
        ),
        Case(
            "vault name: OData",
            "PUT",
            f"{vaults_path}/" + quote("v' or PartitionKey ne '"),
            body=vault_body(),
            code="InvalidResourceName",
            target="vaultName",
        ),
        # --- foreign scopes ---
        Case(
            "instance: policy of a vault in another subscription",
            "PUT",
            instance_path,
            body=instance(
                vault,
                "properties.policyInfo.policyId",
                f"/subscriptions/{OTHER_SUB}/resourceGroups/{vault.resource_group}/providers/"
                f"Microsoft.DataProtection/backupVaults/{vault.name}/backupPolicies/p1",
            ),
            code="UserErrorPolicyNotInVault",
            target="properties.policyInfo.policyId",
        ),
        Case(
            "instance: policy of a vault in another resource group",
            "PUT",
            instance_path,
            body=instance(
                vault,
                "properties.policyInfo.policyId",
                f"/subscriptions/{SUB}/resourceGroups/rg-elsewhere/providers/"
                f"Microsoft.DataProtection/backupVaults/{vault.name}/backupPolicies/p1",
            ),
            code="UserErrorPolicyNotInVault",
            target="properties.policyInfo.policyId",
        ),
        Case(
            "instance: policy id climbing out of the vault",
            "PUT",
            instance_path,
            body=instance(vault, "properties.policyInfo.policyId", f"{vault.id}/backupPolicies/../../v2/p1"),
            code="InvalidResourceId",
            target="properties.policyInfo.policyId",
        ),
        Case(
            "instance: a snapshot is not a disk",
            "PUT",
            instance_path,
            body=instance(
                vault, f"{source}.resourceID", f"{DISK_RG}/providers/Microsoft.Compute/snapshots/disk-a"
            ),
            code="InvalidResourceId",
            target=f"{source}.resourceID",
        ),
        Case(
            "instance: a virtual machine is not a disk",
            "PUT",
            instance_path,
            body=instance(
                vault, f"{source}.resourceID", f"{DISK_RG}/providers/Microsoft.Compute/virtualMachines/vm"
            ),
            code="InvalidResourceId",
            target=f"{source}.resourceID",
        ),
        Case(
            "instance: a disk id with path traversal",
            "PUT",
            instance_path,
            body=instance(
                vault, f"{source}.resourceID", f"{DISK_RG}/../rg-x/providers/Microsoft.Compute/disks/d"
            ),
            code="InvalidResourceId",
            target=f"{source}.resourceID",
        ),
        Case(
            "instance: snapshot resource group is a disk",
            "PUT",
            instance_path,
            body=instance(vault, f"{store_parameters}.0.resourceGroupId", DISK),
            code="UserErrorInvalidOperationalStoreResourceGroup",
            target="properties.policyInfo.policyParameters.dataStoreParametersList[0].resourceGroupId",
        ),
        Case(
            "instance: identity that is not a managed identity",
            "PUT",
            instance_path,
            body=instance(
                vault,
                "properties.identityDetails",
                {"useSystemAssignedIdentity": False, "userAssignedIdentityArmUrl": DISK},
            ),
            code="InvalidResourceId",
            target="properties.identityDetails.userAssignedIdentityArmUrl",
        ),
        Case(
            "restore: a target that is a virtual machine",
            "POST",
            restore_path,
            body=restore(
                f"{datasource}.resourceID", f"{DISK_RG}/providers/Microsoft.Compute/virtualMachines/v"
            ),
            code="InvalidResourceId",
            target=f"{datasource}.resourceID",
        ),
        Case(
            "restore: a target in a subscription that is not a GUID",
            "POST",
            restore_path,
            body=restore(
                f"{datasource}.resourceID",
                "/subscriptions/../resourceGroups/rg/providers/Microsoft.Compute/disks/d",
            ),
            code="InvalidSubscriptionId",
            target=f"{datasource}.resourceID",
        ),
        Case(
            "restore: a disk encryption set that is not an ARM id",
            "POST",
            restore_path,
            body=restore(
                overrides,
                {"objectType": "DefaultResourceProperties", "diskEncryptionSetId": "https://evil/des"},
            ),
            target=f"{overrides}.diskEncryptionSetId",
        ),
        Case(
            "vault: a user identity that is a disk",
            "PUT",
            "",
            body=vault_body(identity={"type": "UserAssigned", "userAssignedIdentities": {DISK: {}}}),
            code="InvalidResourceId",
            target="identity.userAssignedIdentities",
        ),
        # --- hostile names ---
        *(
            Case(
                f"vault name: {label}",
                "PUT",
                f"{vaults_path}/{quote(name)}",
                body=vault_body(),
                code="InvalidResourceName",
                target="vaultName",
            )
            for label, name in (
                ("dot dot", ".."),
                ("encoded traversal", "..%2F..%2Fx"),
                ("unicode", "vault-\u00e9t\u00e9"),
                ("right-to-left override", "vault\u202egnp"),
                ("151 characters", "v" * 151),
                ("NUL", "vault\x00"),
                ("newline", "vault\nx"),
                ("leading dash", "-vault"),
            )
        ),
        *(
            Case(
                f"policy name: {label}",
                "PUT",
                f"/backupPolicies/{quote(name)}",
                body=policy(),
                code="InvalidResourceName",
                target="backupPolicyName",
            )
            for label, name in (("unicode", "\u0440olicy"), ("tab", "p\t1"), ("very long", "p" * 5000))
        ),
        Case(
            "instance name: control character",
            "PUT",
            "/backupInstances/" + quote("bi\x07"),
            body=None,
            code="InvalidResourceName",
            target="backupInstanceName",
        ),
        Case(
            "resource group: traversal",
            "PUT",
            f"/subscriptions/{SUB}/resourceGroups/{quote('..')}/providers/Microsoft.DataProtection/backupVaults/v",
            body=vault_body(),
            code="InvalidResourceGroupName",
            target="resourceGroupName",
        ),
        Case(
            "subscription: not a GUID",
            "PUT",
            f"/subscriptions/{quote('sub; drop')}/resourceGroups/rg{VAULT_PROVIDER}/backupVaults/v",
            body=vault_body(),
            code="InvalidSubscriptionId",
            target="subscriptionId",
        ),
        Case(
            "vault: location with a control character",
            "PUT",
            "",
            body=vault_body(location="west\nus"),
            code="InvalidResourceLocation",
            target="location",
        ),
        Case(
            "vault: tag name with a path separator",
            "PUT",
            "",
            body=vault_body(tags={"../etc": "x"}),
            code="InvalidTagName",
            target="tags",
        ),
        Case(
            "restore: target disk name with unicode",
            "POST",
            restore_path,
            body=restore(
                f"{datasource}.resourceID", f"{DISK_RG}/providers/Microsoft.Compute/disks/d\u00efsk"
            ),
            code="InvalidResourceName",
            target=f"{datasource}.resourceID",
        ),
    ]


def json_nested(depth: int) -> bytes:
    return b'{"properties": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"


def quote(text: str) -> str:
    return url_quote(text, safe="")


async def everything_stored(api: Api) -> list[tuple[str, str, str, str]]:
    """Every row of both tables: nothing a refusal does may show up anywhere, in any partition."""
    rows: list[tuple[str, str, str, str]] = []  # (table, PartitionKey, RowKey, etag)
    for name in (VAULTS_TABLE, VAULT_DATA_TABLE):
        table = await api.runtime.storage.table(name)
        async for entity in table.list_entities():
            key = (str(entity["PartitionKey"]), str(entity["RowKey"]))
            rows.append((name, *key, str(entity.metadata["etag"])))
    return sorted(rows)


_CASES = cases(VaultRef(SUB, "rg-corpus", "vault-corpus"))


@pytest.fixture
async def prepared(api: Api, vault: VaultRef) -> Api:
    assert (await api.call("PUT", vault_path(vault), vault_body())).status == 201
    assert (await api.call("PUT", vault_path(vault) + "/backupPolicies/p1", policy())).status == 200
    protected = BackupInstance(
        vault=vault,
        name="bi-a",
        disk_id=DISK,
        disk_location="westus",
        policy_name="p1",
        policy_document=DEFAULT_POLICY,
        snapshot_resource_group_id=SNAPSHOT_RG,
        protection_state=ProtectionState.PROTECTION_CONFIGURED,
    )
    await api.context.store.create_instance(protected, PlanState("bi-a", DEFAULT_POLICY, active=True))
    return api


@pytest.mark.parametrize("index", range(len(_CASES)), ids=[case.name for case in _CASES])
async def test_bad_input_is_refused_with_an_arm_error_and_changes_nothing(
    prepared: Api, vault: VaultRef, index: int
) -> None:
    api = prepared
    case = cases(vault)[index]
    path = case.path if case.path.startswith("/subscriptions/") else vault_path(vault) + case.path
    before = await everything_stored(api)
    answer = await api.call(case.method, path, case.body, raw=case.raw, query=case.query)
    assert 400 <= answer.status < 500, (case.name, answer.status, answer.body)
    assert (answer.status, answer.code) == (case.status, case.code), (case.name, answer.body)
    error = answer.body["error"]
    assert set(error) <= {"code", "message", "target", "details", "additionalInfo"}, error
    assert isinstance(error["message"], str)
    assert error["message"].strip()
    [user_facing] = error["additionalInfo"]
    assert user_facing["type"] == "UserFacingError"
    info = user_facing["info"]
    assert (info["code"], info["message"], info.get("target")) == (
        error["code"],
        error["message"],
        error.get("target"),
    )
    assert (info["isRetryable"], info["isUserError"]) == (False, True)
    assert info["recommendedAction"][0].strip()
    assert info["properties"]["ActivityId"] == answer.headers["x-ms-request-id"]
    if case.target is not None:
        assert error.get("target") == case.target, (case.name, error)
    assert await everything_stored(api) == before


def test_every_case_has_a_unique_name() -> None:
    names = [case.name for case in _CASES]
    assert len(names) == len(set(names))
