"""PartitionKey and RowKey construction for the tables described in ``docs/storage.md``.

Keys are built only from names that passed :func:`validated_name`, so they can never carry
the characters Table keys forbid (``/ \\ # ?`` and control characters) or our separators
(``|`` and ``:``). ARM names are case-insensitive, so keys are lower case.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

from backup.domain.clock import MAX_INVERTED_MILLIS, epoch_millis
from backup.domain.resource_ids import GUID, check_subscription
from backup.errors import ValidationError

# Names reach keys only after the API validated them (backup.domain.resource_ids); this is
# the last line of defence that keeps forbidden characters and our separators out of keys.
_KEY_SAFE = re.compile(r"^[A-Za-z0-9_.()-]{1,150}$")

POLICY = "p"
INSTANCE = "i"
RECOVERY_POINT = "r"
EXPIRY = "x"
DELETED_RECOVERY_POINT = "d"
AUDIT_EXPIRY = "y"
LAYOUT = "v"
JOB = "j"
JOB_INDEX = "k"
OPERATION = "o"
RESTORE_USAGE = "q"
INSTANCE_INDEX = "n"
HEALTH_INDEX = "h"
STATUS_INDEX = "s"
COUNTS = "c"
LIMITS = "l"
PLAN_SUFFIX = "plan"
SEPARATOR = "|"
# The character right after the separator: ``prefix + SEPARATOR`` .. ``prefix + RANGE_END``
# is the whole range of one key kind.
RANGE_END = chr(ord(SEPARATOR) + 1)

SYSTEM_PARTITION = "_system"
"""Not a vault: app-wide markers live here (vault partitions always contain ':')."""
DATASOURCE_PARTITION = "_datasources"
"""Not a vault: one row per protected disk, naming the instance that protects it."""
BUDGET_PARTITION = "_armbudget"
"""Not a vault: one ARM budget ledger per (subscription, principal, category)."""
ACCESS_PARTITION = "_access"
"""Not a vault: role assignments, each as three rows (by scope, by principal, by name)."""
ASSIGNMENT_BY_SCOPE = "a"
ASSIGNMENT_BY_PRINCIPAL = "b"
ASSIGNMENT_NAME = "g"
ROOT_SCOPE_KEY = "*"
APP_PRINCIPAL = "app"


def validated_name(value: str, *, what: str) -> str:
    if not isinstance(value, str) or not _KEY_SAFE.fullmatch(value):
        raise ValidationError(
            f"'{value}' is not a valid {what} name.", code="InvalidResourceName", target=what
        )
    return value.lower()


def validated_subscription(value: str) -> str:
    return check_subscription(value).lower()


def vault_partition(subscription_id: str, resource_group: str, vault: str) -> str:
    return ":".join(
        (
            validated_subscription(subscription_id),
            validated_name(resource_group, what="resourceGroup"),
            validated_name(vault, what="backupVault"),
        )
    )


def vault_registry_key(subscription_id: str, resource_group: str, vault: str) -> tuple[str, str]:
    """(PartitionKey, RowKey) of a vault in the ``vaults`` table."""
    rg = validated_name(resource_group, what="resourceGroup")
    return validated_subscription(subscription_id), f"{rg}:{validated_name(vault, what='backupVault')}"


def kind_range(kind: str, *scope: str) -> tuple[str, str]:
    """Inclusive lower and exclusive upper RowKey bounds of one key kind, optionally narrowed."""
    prefix = SEPARATOR.join((kind, *scope)) + SEPARATOR
    return prefix, prefix[:-1] + RANGE_END


def instance_index_range(field: str, value: str) -> tuple[str, str]:
    """RowKey bounds of every instance under ``value`` of an index ``field`` (``health``, ``status``)."""
    instance_index_key(field, value, "x")  # validates both
    return kind_range(INSTANCE_INDEX, INDEX_FIELDS.get(field, field), value.lower())


def row_key(kind: str, *parts: str) -> str:
    return SEPARATOR.join((kind, *parts))


def policy_key(policy: str) -> str:
    return row_key(POLICY, validated_name(policy, what="backupPolicy"))


def instance_key(instance: str) -> str:
    return row_key(INSTANCE, validated_name(instance, what="backupInstance"))


def plan_key(instance: str) -> str:
    return row_key(INSTANCE, validated_name(instance, what="backupInstance"), PLAN_SUFFIX)


INDEX_FIELDS = {"health": HEALTH_INDEX, "status": STATUS_INDEX}
"""The fields instances are indexed by (as the port names them), and their key letter."""


def instance_index_key(field: str, value: str, instance: str) -> str:
    """``n|{field}|{value}|{instance}``: one instance under one value of a field it is listed by
    (``h`` health, ``s`` protection status), the value lower case."""
    field = INDEX_FIELDS.get(field, field)
    if field not in (HEALTH_INDEX, STATUS_INDEX) or not _KEY_SAFE.fullmatch(value):
        raise ValueError(f"not an instance index: {field!r} {value!r}")
    return row_key(INSTANCE_INDEX, field, value.lower(), validated_name(instance, what="backupInstance"))


def is_plan_key(row: str) -> bool:
    """Whether an ``i|`` row is an instance's planner row rather than the instance itself."""
    return row.endswith(SEPARATOR + PLAN_SUFFIX)


def recovery_point_key(instance: str, recovery_point_id: str) -> str:
    return row_key(
        RECOVERY_POINT, validated_name(instance, what="backupInstance"), _hex_id(recovery_point_id)
    )


def recovery_points_range(
    instance: str,
    *,
    after_id: str | None = None,
    stamped_from: datetime | None = None,
    stamped_to: datetime | None = None,
) -> tuple[str, str]:
    """RowKey bounds of an instance's live points newest first: strictly after ``after_id`` (the
    last one a page served) and, optionally, whose id carries a time in
    ``[stamped_from, stamped_to]`` (an id's first 12 hex digits are its inverted milliseconds, so
    a time window is a key range: the newest time is the lower bound). Empty when ``lower >= upper``.
    """
    lower, upper = kind_range(RECOVERY_POINT, validated_name(instance, what="backupInstance"))
    prefix = lower
    if stamped_to is not None:
        lower = max(lower, prefix + _inverted_millis(stamped_to))
    if (
        stamped_from is not None
        and (inverted := int(_inverted_millis(stamped_from), 16)) < MAX_INVERTED_MILLIS
    ):
        # Every id stamped at stamped_from's millisecond sorts below the next inverted value
        # (at the epoch or before, every id qualifies: no bound).
        upper = min(upper, prefix + format(inverted + 1, "012x"))
    if after_id is not None:
        lower = max(lower, recovery_point_key(instance, after_id) + "\x00")
    return lower, upper


def _inverted_millis(moment: datetime) -> str:
    """The 12 hex digits an id stamped at ``moment`` starts with, clamped to the representable range."""
    return format(min(max(0, MAX_INVERTED_MILLIS - epoch_millis(moment)), MAX_INVERTED_MILLIS), "012x")


def expiry_key(expires_at: datetime, instance: str, recovery_point_id: str) -> str:
    return row_key(
        EXPIRY,
        compact_time(expires_at),
        validated_name(instance, what="backupInstance"),
        _hex_id(recovery_point_id),
    )


def expired_before(now: datetime) -> tuple[str, str]:
    """RowKey bounds of every expiry-index row whose time is at or before ``now``."""
    lower, _ = kind_range(EXPIRY)
    return lower, row_key(EXPIRY, compact_time(now)) + RANGE_END


def deleted_recovery_point_key(instance: str, recovery_point_id: str) -> str:
    """Where a deleted recovery point is kept for audit, out of the live ``r|`` range."""
    return row_key(
        DELETED_RECOVERY_POINT,
        validated_name(instance, what="backupInstance"),
        _hex_id(recovery_point_id),
    )


def audit_expiry_key(expires_at: datetime, instance: str, recovery_point_id: str) -> str:
    """The audit index of a deleted point, keyed by when the point expired (not when it was
    deleted), so the point alone names it and the audit retention can change without a rewrite."""
    return row_key(
        AUDIT_EXPIRY,
        compact_time(expires_at),
        validated_name(instance, what="backupInstance"),
        _hex_id(recovery_point_id),
    )


def instance_index_layout_key() -> str:
    """``v|instance-index``: every instance row of the vault has its instance-index rows."""
    return row_key(LAYOUT, "instance-index")


def audit_expired_before(moment: datetime) -> tuple[str, str]:
    """RowKey bounds of every audit-index row whose point expired at or before ``moment``."""
    lower, _ = kind_range(AUDIT_EXPIRY)
    return lower, row_key(AUDIT_EXPIRY, compact_time(moment)) + RANGE_END


def history_layout_key() -> str:
    """A vault's marker that its recovery-point history is in the current layout (no deleted
    points left in the live range)."""
    return row_key(LAYOUT, "history")


def vault_limits_key() -> str:
    """``l|scopes``: the vault's scope limits (one row)."""
    return row_key(LIMITS, "scopes")


def overview_key() -> str:
    """A vault's summary for the overview (counts by health and state, points held, failed jobs)."""
    return row_key(COUNTS, "overview")


def job_key(job_id: str) -> str:
    if not GUID.fullmatch(job_id or "") or job_id != job_id.lower():
        raise ValidationError(
            f"'{job_id}' is not a job id (a lower-case GUID).", code="InvalidJobId", target="jobId"
        )
    return row_key(JOB, job_id)


JOB_INDEX_STATUS = "s"
JOB_INDEX_OPERATION = "o"
JOB_INDEX_INSTANCE = "i"
JOB_INDEX_FIELDS = (JOB_INDEX_STATUS, JOB_INDEX_OPERATION, JOB_INDEX_INSTANCE)
"""The job index's fields: ``k|s|{status}|{jobId}``, ``k|o|{operation}|{jobId}``,
``k|i|{instance}|{jobId}``."""


def job_index_key(field: str, value: str, job_id: str) -> str:
    """A job's copy under one indexed value; ids sort newest first within it as in ``j|``."""
    return row_key(*job_index_scope(field, value), job_key(job_id).split(SEPARATOR, 1)[1])


def job_index_scope(field: str, value: str) -> tuple[str, str, str]:
    """The key parts every job with ``field == value`` shares (``kind_range(*scope)`` bounds them)."""
    if field not in JOB_INDEX_FIELDS:
        raise ValueError(f"jobs are not indexed by '{field}'")
    return JOB_INDEX, field, validated_name(value, what="jobIndexValue")


def job_index_marker_key(vault_partition: str) -> str:
    """RowKey, in the ``_system`` partition, of a vault's marker that every job written before the
    job index existed has its index rows. Every filtered job listing reads it, so it lives in a
    partition of a few rows rather than among the vault's jobs."""
    return row_key("job-index", vault_partition)


def operation_key(operation_id: str) -> str:
    return row_key(OPERATION, operation_id)


def restore_usage_key(instance: str) -> str:
    return row_key(RESTORE_USAGE, validated_name(instance, what="backupInstance"))


def datasource_claim_key(disk_id: str) -> str:
    """A disk id may hold characters keys forbid, and ARM ids are case-insensitive: hash it."""
    return hashlib.sha256(disk_id.lower().encode()).hexdigest()


def budget_principal(identity: str | None) -> str:
    """``app`` for the app's own identity, else a short hash of the identity's resource id (ids
    hold characters keys forbid, and ARM compares them case-insensitively)."""
    if identity is None:
        return APP_PRINCIPAL
    return hashlib.sha256(identity.lower().encode()).hexdigest()[:16]


def budget_key(subscription_id: str, identity: str | None, category: str) -> str:
    """RowKey of one ARM budget ledger: ``{subscription}|{principal}|{category}``."""
    return row_key(
        validated_subscription(subscription_id),
        budget_principal(identity),
        validated_name(category, what="budgetCategory"),
    )


def compact_time(moment: datetime) -> str:
    """A sortable, key-safe UTC timestamp with microseconds: ``20261126T040000000000Z``."""
    if moment.tzinfo is None:
        raise ValueError("key timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _hex_id(value: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{32}", value or ""):
        raise ValidationError(
            f"'{value}' is not a recovery point id (32 lower-case hex digits).",
            code="InvalidRecoveryPointId",
            target="recoveryPointId",
        )
    return value


def scope_key(scope_parts: tuple[str, ...]) -> str:
    """A role assignment scope as a key part: ``*`` for everything, else its names joined by ``:``."""
    if not scope_parts:
        return ROOT_SCOPE_KEY
    subscription, *names = scope_parts
    checked = [validated_subscription(subscription), *(validated_name(n, what="scope") for n in names)]
    return ":".join(checked)


def _guid(value: str, what: str) -> str:
    if not GUID.fullmatch(value):
        raise ValidationError(f"'{value}' is not a {what} (a GUID).", code="InvalidGuid", target=what)
    return value.lower()


def assignment_by_scope_key(scope_parts: tuple[str, ...], name: str) -> str:
    return row_key(ASSIGNMENT_BY_SCOPE, scope_key(scope_parts), _guid(name, "roleAssignmentName"))


def assignments_at_scope_range(scope_parts: tuple[str, ...]) -> tuple[str, str]:
    return kind_range(ASSIGNMENT_BY_SCOPE, scope_key(scope_parts))


def assignment_by_principal_key(principal_id: str, name: str) -> str:
    return row_key(
        ASSIGNMENT_BY_PRINCIPAL, _guid(principal_id, "principalId"), _guid(name, "roleAssignmentName")
    )


def assignments_of_principal_range(principal_id: str) -> tuple[str, str]:
    return kind_range(ASSIGNMENT_BY_PRINCIPAL, _guid(principal_id, "principalId"))


def assignment_name_key(name: str) -> str:
    return row_key(ASSIGNMENT_NAME, _guid(name, "roleAssignmentName"))
