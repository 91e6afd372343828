"""The ``api-version`` values the API accepts: every stable Microsoft.DataProtection version.

Source: the ``### Tag: package-YYYY-MM[-DD]`` sections of
``specification/dataprotection/resource-manager/Microsoft.DataProtection/DataProtection/readme.md``
in Azure/azure-rest-api-specs (each tag's ``input-file`` is ``stable/<version>/dataprotection.json``),
plus 2023-08-01, which an older ``resource-manager/readme.md`` published as ``package-2023-08``
(``stable/2023-08-01``) and the newer readme no longer lists. Preview versions are refused:
they carry features this product does not implement. ``azure-mgmt-dataprotection`` 2.2.0 sends
2026-06-01 by default.

The request and response shapes of the resources served here did not change across these
versions in ways a disk client can observe, so every version gets the same answer.
"""

from __future__ import annotations

from backup.errors import ValidationError

STABLE_API_VERSIONS: tuple[str, ...] = (
    "2021-01-01",
    "2021-07-01",
    "2022-01-01",
    "2022-03-01",
    "2022-04-01",
    "2022-05-01",
    "2022-12-01",
    "2023-01-01",
    "2023-05-01",
    "2023-08-01",
    "2023-11-01",
    "2023-12-01",
    "2024-03-01",
    "2024-04-01",
    "2025-01-01",
    "2025-02-01",
    "2025-07-01",
    "2025-09-01",
    "2026-03-01",
    "2026-06-01",
)
LATEST_API_VERSION = STABLE_API_VERSIONS[-1]

_SUPPORTED = frozenset(STABLE_API_VERSIONS)


def check_api_version(value: str | None) -> str:
    """The version as given, or a 400 naming the problem (and the supported list)."""
    if value is None or not value.strip():
        raise ValidationError(
            "The api-version query parameter (?api-version=) is required for all requests.",
            code="MissingApiVersionParameter",
            target="api-version",
        )
    version = value.strip()
    if version not in _SUPPORTED:
        raise ValidationError(
            f"The api-version '{version[:40]}' is invalid. The supported versions are "
            f"'{','.join(STABLE_API_VERSIONS)}'.",
            code="InvalidApiVersionParameter",
            target="api-version",
        )
    return version
