"""Values built to break a parser, through the router against Azurite: durations that overflow or
are fractional, a property given twice, disk encryption set ids that escape their shape. Each is
a 400 with an ARM error naming the property, and no stored row changes (as in the corpus).
Date-times whose offset leaves the years 1-9999 are here too: they overflowed into 500s."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from backup.domain.instance import VaultRef
from tests.integration.api.conftest import SUB, Api, vault_path
from tests.integration.api.test_bad_input_corpus import (
    DISK_RG,
    OTHER_SUB,
    Case,
    everything_stored,
    policy,
    prepared,
    restore,
)

pytestmark = pytest.mark.integration

__all__ = ["prepared"]  # the corpus's fixture: a vault, a policy and a protected instance

RULES = "properties.policyRules"
RETENTION = f"{RULES}.1.lifecycles.0.deleteAfter.duration"
RETENTION_TARGET = f"{RULES}[1].lifecycles[0].deleteAfter.duration"
INTERVALS = f"{RULES}.0.trigger.schedule.repeatingTimeIntervals"
INTERVALS_TARGET = f"{RULES}[0].trigger.schedule.repeatingTimeIntervals[0]"
OVERRIDES = "restoreTargetInfo.datasourceInfo.resourceProperties"
DES_TARGET = f"{OVERRIDES}.diskEncryptionSetId"
DES = f"/subscriptions/{SUB}/resourceGroups/rg-keys/providers/Microsoft.Compute/diskEncryptionSets/des-1"


def _des(value: str) -> dict[str, object]:
    return restore(OVERRIDES, {"objectType": "DefaultResourceProperties", "diskEncryptionSetId": value})


def _cases() -> list[Case]:
    durations = [
        Case(
            f"retention {text}",
            "PUT",
            "/backupPolicies/p2",
            body=policy(RETENTION, text),
            code="InvalidDuration",
        )
        for text in (
            "P1000000000D",
            "PT99999999999999999999H",
            "P1000000000W",
            "P99999999999M",
            "P1.5D",
            "PT0,5H",
        )
    ]
    intervals = [
        Case(
            f"interval {text}",
            "PUT",
            "/backupPolicies/p2",
            body=policy(INTERVALS, [f"R/2020-04-05T13:00:00+00:00/{text}"]),
            code="InvalidRepeatingTimeInterval",
            target=INTERVALS_TARGET,
        )
        for text in ("PT99999999999999999999H", "P1000000000D", "PT4.5H")
    ]
    duplicates = [
        Case("vault: location twice", "PUT", "", raw=b'{"location": "westus", "location": "eastus"}'),
        Case(
            "adhoc backup: ruleName twice",
            "POST",
            "/backupInstances/bi-a/backup",
            raw=b'{"backupRuleOptions": {"ruleName": "BackupHourly", "RuleName": "Other", '
            b'"triggerOption": {"retentionTagOverride": "Default"}}}',
        ),
    ]
    encryption_sets = [
        Case(
            f"disk encryption set: {what}",
            "POST",
            "/backupInstances/bi-a/restore",
            body=_des(value),
            code=code,
        )
        for what, value, code in (
            ("dot-dot subscription", "/subscriptions/../x", "InvalidResourceId"),
            ("dot-dot inside", DES.replace("/rg-keys/", "/rg-keys/../"), "InvalidResourceId"),
            ("a disk", f"{DISK_RG}/providers/Microsoft.Compute/disks/d", "InvalidResourceId"),
            ("another provider", DES.replace("Microsoft.Compute", "Microsoft.KeyVault"), "InvalidResourceId"),
            ("a child path", DES + "/extra", "InvalidResourceId"),
            ("a query", DES + "?x=1", "InvalidResourceId"),
            ("a bad name", DES.replace("des-1", "des 1"), "InvalidResourceId"),
            ("another subscription", DES.replace(SUB, OTHER_SUB), "InvalidPropertyValue"),
        )
    ]
    # A date-time whose offset moves it outside the years 1-9999 cannot be compared or added to.
    times = [
        Case(
            f"restorable ranges: {field} {value}",
            "POST",
            "/backupInstances/bi-a/findRestorableTimeRanges",
            body={"sourceDataStoreType": "OperationalStore", field: value},
            code="InvalidPropertyValue",
            target=field,
        )
        for field, value in (
            ("startTime", "0001-01-01T00:00:00+14:00"),
            ("endTime", "9999-12-31T23:59:59-14:00"),
        )
    ] + [
        Case(
            f"jobs filter: {value}",
            "GET",
            "/backupJobs",
            query="$filter=" + quote(f"startTime ge '{value}'", safe=""),
            code="InvalidQueryParameterValue",
        )
        for value in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00")
    ]
    return durations + intervals + duplicates + encryption_sets + times


_CASES = _cases()


@pytest.mark.parametrize("case", _CASES, ids=[case.name for case in _CASES])
async def test_a_hostile_value_is_a_400_naming_it_and_changes_nothing(
    prepared: Api, vault: VaultRef, case: Case
) -> None:
    api = prepared
    before = await everything_stored(api)
    answer = await api.call(
        case.method, vault_path(vault) + case.path, case.body, raw=case.raw, query=case.query
    )
    assert (answer.status, answer.code) == (400, case.code), (case.name, answer.body)
    assert answer.body["error"]["message"].strip()
    if case.target is not None:
        assert answer.body["error"]["target"] == case.target, (case.name, answer.body)
    assert await everything_stored(api) == before
