"""Every environment variable the product reads, and the typed settings built from them.

Names live here and nowhere else: the Bicep app settings are checked against this module,
and settings marked ``LOCAL_ONLY`` must never appear in a deployed app.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType

from backup.domain.durations import parse_iso_duration
from backup.domain.identity_bindings import IdentityBindings
from backup.domain.pacing import ARM_DEFAULT_LIMITS, BucketLimits, Category
from backup.domain.slots import DEFAULT_START_WINDOW

# Storage. Deployed: identity-based ``AzureWebJobsStorage__*`` service URIs (no keys).
# Locally: ``AzureWebJobsStorage`` holds Azurite's connection string.
STORAGE_CONNECTION_STRING = "AzureWebJobsStorage"
STORAGE_TABLE_URI = "AzureWebJobsStorage__tableServiceUri"
STORAGE_QUEUE_URI = "AzureWebJobsStorage__queueServiceUri"
STORAGE_CLIENT_ID = "AzureWebJobsStorage__clientId"
# The host's own blob endpoint; the jobs export writes there, readable by a user-delegation SAS.
STORAGE_BLOB_URI = "AzureWebJobsStorage__blobServiceUri"

# Managed identity used for ARM calls when a vault names no identity of its own.
AZURE_CLIENT_ID = "AZURE_CLIENT_ID"

# Which vaults may use which user-assigned identity: a JSON object of identity resource id to the
# scopes (vault ids, resource groups, subscriptions, "/") whose vaults may name it. An identity
# not listed can be used by no vault (backup/domain/identity_bindings.py).
VAULT_IDENTITY_BINDINGS = "VAULT_IDENTITY_BINDINGS"

ARM_ENDPOINT = "ARM_ENDPOINT"
ARM_CA_BUNDLE = "ARM_CA_BUNDLE"
ARM_STATIC_TOKEN = "ARM_STATIC_TOKEN"
# Local only: {"<user-assigned identity resource id>": "<token>"} for vaults with their own identity.
ARM_STATIC_TOKENS = "ARM_STATIC_TOKENS"

PLAN_BACKUPS_SCHEDULE = "PLAN_BACKUPS_SCHEDULE"
APPLY_RETENTION_SCHEDULE = "APPLY_RETENTION_SCHEDULE"
COUNT_OVERVIEW_SCHEDULE = "COUNT_OVERVIEW_SCHEDULE"

APPLICATIONINSIGHTS_CONNECTION_STRING = "APPLICATIONINSIGHTS_CONNECTION_STRING"

# Days a deleted backup instance ("stop protection and delete data") stays soft-deleted, with
# its snapshots, before it is purged; undelete is possible until then.

# The latest a scheduled backup may start after its slot (ISO 8601 duration, e.g. PT1H); a slot
# whose backup cannot start by then is recorded as missed (backup/domain/slots.py explains it).
BACKUP_START_WINDOW = "BACKUP_START_WINDOW"
DEFAULT_BACKUP_START_WINDOW = "PT1H"

# ARM's request budget per (subscription, principal) the app paces itself to, when a
# subscription's limits are lower than ARM's published ones (e.g. "writes=100+5/s,reads=120+12/s";
# a bucket of that many requests refilled at that rate per second). Categories not named keep
# ARM's published limits (reads 250+25/s, writes and deletes 200+10/s); none may exceed them.
ARM_BUDGET_LIMITS = "ARM_BUDGET_LIMITS"

# Set by the platform (never by us) when App Service Authentication is on; only then is the
# X-MS-CLIENT-PRINCIPAL header trusted. A person can set it too, so it never lowers the function
# key requirement (backup/api/auth.py, "fail closed").
WEBSITE_AUTH_ENABLED = "WEBSITE_AUTH_ENABLED"
PLATFORM_SET = frozenset({WEBSITE_AUTH_ENABLED})

# The demo's accelerated clock: product time starts at CLOCK_ORIGIN (ISO 8601, default: now)
# and runs CLOCK_SPEED times faster than real time.
CLOCK_SPEED = "CLOCK_SPEED"
CLOCK_ORIGIN = "CLOCK_ORIGIN"

# Settings that only make sense against Azurite and the Compute emulator.
LOCAL_ONLY = frozenset(
    {STORAGE_CONNECTION_STRING, ARM_CA_BUNDLE, ARM_STATIC_TOKEN, ARM_STATIC_TOKENS, CLOCK_SPEED, CLOCK_ORIGIN}
)

DEFAULT_ARM_ENDPOINT = "https://management.azure.com"


@dataclass(frozen=True)
class Settings:
    arm_endpoint: str = DEFAULT_ARM_ENDPOINT
    arm_ca_bundle: str | None = None
    arm_static_token: str | None = None
    arm_static_tokens: Mapping[str, str] = field(default_factory=dict)
    managed_identity_client_id: str | None = None
    storage_connection_string: str | None = None
    table_service_uri: str | None = None
    queue_service_uri: str | None = None
    blob_service_uri: str | None = None
    storage_client_id: str | None = None
    clock_speed: float | None = None
    clock_origin: str | None = None
    backup_start_window: timedelta = DEFAULT_START_WINDOW
    arm_budget_limits: Mapping[Category, BucketLimits] = field(default_factory=lambda: ARM_DEFAULT_LIMITS)
    identity_bindings: IdentityBindings = field(default_factory=IdentityBindings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def optional(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        return cls(
            arm_endpoint=(optional(ARM_ENDPOINT) or DEFAULT_ARM_ENDPOINT).rstrip("/"),
            arm_ca_bundle=optional(ARM_CA_BUNDLE),
            arm_static_token=optional(ARM_STATIC_TOKEN),
            arm_static_tokens=_tokens(optional(ARM_STATIC_TOKENS)),
            managed_identity_client_id=optional(AZURE_CLIENT_ID),
            storage_connection_string=optional(STORAGE_CONNECTION_STRING),
            table_service_uri=optional(STORAGE_TABLE_URI),
            queue_service_uri=optional(STORAGE_QUEUE_URI),
            blob_service_uri=optional(STORAGE_BLOB_URI),
            storage_client_id=optional(STORAGE_CLIENT_ID),
            clock_speed=_speed(optional(CLOCK_SPEED)),
            clock_origin=optional(CLOCK_ORIGIN),
            backup_start_window=_start_window(optional(BACKUP_START_WINDOW)),
            arm_budget_limits=_budget_limits(optional(ARM_BUDGET_LIMITS)),
            identity_bindings=IdentityBindings.parse(
                optional(VAULT_IDENTITY_BINDINGS), VAULT_IDENTITY_BINDINGS
            ),
        )


def missing_storage_settings(settings: Settings) -> list[str]:
    """The storage settings still to set, by name: Azurite's connection string locally, or the
    identity-based table and queue service URIs as deployed. Empty when storage is configured."""
    if settings.storage_connection_string:
        return []
    return [
        name
        for name, value in (
            (STORAGE_TABLE_URI, settings.table_service_uri),
            (STORAGE_QUEUE_URI, settings.queue_service_uri),
        )
        if not value
    ]


def _tokens(value: str | None) -> dict[str, str]:
    try:
        tokens = json.loads(value or "{}")
    except ValueError:
        tokens = None
    if not isinstance(tokens, dict):
        raise ValueError(f"{ARM_STATIC_TOKENS} must be a JSON object of identity id to token")
    return {key.lower(): str(token) for key, token in tokens.items()}


def _speed(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{CLOCK_SPEED} must be a number, not {value!r}") from None


def _start_window(value: str | None) -> timedelta:
    text = value or DEFAULT_BACKUP_START_WINDOW
    try:
        duration = parse_iso_duration(text)
    except ValueError:
        duration = None
    if (
        duration is None
        or duration.months
        or not duration.is_positive()
        or duration.exact > timedelta(days=1)
    ):
        raise ValueError(
            f"{BACKUP_START_WINDOW} must be an ISO 8601 duration longer than zero and at most one day "
            f"(e.g. PT1H, PT30M), not {value!r}"
        )
    return duration.exact


_CATEGORY_NAMES = frozenset(category.value for category in Category)
_BUCKET = re.compile(r"(?P<category>[a-z]+)=(?P<capacity>[0-9]+)\+(?P<refill>[0-9]+(?:\.[0-9]+)?)/s")


def _budget_limits(value: str | None) -> Mapping[Category, BucketLimits]:
    if value is None:
        return ARM_DEFAULT_LIMITS
    limits = dict(ARM_DEFAULT_LIMITS)
    named: set[Category] = set()
    for item in value.split(","):
        match = _BUCKET.fullmatch(item.strip())
        category = Category(match["category"]) if match and match["category"] in _CATEGORY_NAMES else None
        if match is None or category is None or category in named:
            raise ValueError(
                f"{ARM_BUDGET_LIMITS} must list buckets as CATEGORY=CAPACITY+REFILL/s, each category "
                f"(reads, writes, deletes) at most once, e.g. 'writes=100+5/s,reads=120+12/s', not {value!r}"
            )
        named.add(category)
        capacity, refill = int(match["capacity"]), float(match["refill"])
        published = ARM_DEFAULT_LIMITS[category]
        if not (1 <= capacity <= published.capacity and 0 < refill <= published.refill):
            raise ValueError(
                f"{ARM_BUDGET_LIMITS} allows the {category} bucket to hold 1 to {published.capacity:g} "
                f"requests refilled at more than 0 and at most {published.refill:g}/s (ARM's "
                f"published limit), not {item.strip()!r}"
            )
        limits[category] = BucketLimits(capacity, refill)
    return MappingProxyType(limits)
