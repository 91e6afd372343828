"""The cross-vault view of backup instances, keyset-paged: what a page reads depends on the page
size, not on how many instances the estate holds or how far into the walk the page is.

Order is (vault key, instance name), the vault key being the registry's RowKey
``{resourceGroup}:{vault}``, so a page reads the scope's vault rows (O(vaults): a subscription
holds few) and then, from the vault the continuation names, one keyset range of ``i|`` rows per
vault it crosses, stopping once the page is full. Nothing is summarised per request beyond the
rows served. The vaults a page may visit are an argument, so a caller limited to some vaults
(scoped roles) narrows the list rather than filtering rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from backup.domain.clock import Clock
from backup.domain.instance import BackupInstance, VaultRef, vault_of_document
from backup.domain.instance_status import instance_health
from backup.domain.protection import InstanceSummary
from backup.domain.resource_ids import ComputeResourceId
from backup.errors import ValidationError
from backup.ports import VaultStore
from backup.services.policies import PolicyCache

InstanceFilter = Callable[[InstanceSummary], bool]

_TOKEN_SEPARATOR = "|"


@dataclass(frozen=True)
class InstanceScope:
    """Where the list looks: a subscription, a resource group in it, or one disk (the
    extension-routed list of a datasource: only the instance protecting that disk)."""

    subscription_id: str
    resource_group: str | None = None
    datasource_id: ComputeResourceId | None = None


@dataclass(frozen=True)
class ListedVault:
    key: str
    """The registry RowKey, ``{resourceGroup}:{vault}`` lower case: the first half of the order."""
    vault: VaultRef


@dataclass(frozen=True)
class Position:
    """The last item a page served; the next page starts strictly after it."""

    vault_key: str
    instance: str
    """Lower case."""

    def encode(self) -> str:
        return f"{self.vault_key}{_TOKEN_SEPARATOR}{self.instance}"

    @staticmethod
    def decode(text: str) -> Position:
        vault_key, separator, instance = text.rpartition(_TOKEN_SEPARATOR)
        if not separator or not vault_key or not instance or ":" not in vault_key:
            raise ValidationError(
                "The $skipToken is not one this API issued.",
                code="InvalidQueryParameterValue",
                target="$skipToken",
            )
        return Position(vault_key, instance)


HEALTH_INDEX = "health"
STATUS_INDEX = "status"


@dataclass(frozen=True)
class IndexChoice:
    """An instance index that answers one clause of a filter: ``field`` :data:`HEALTH_INDEX` or
    :data:`STATUS_INDEX` (protectionStatus), and the value wanted."""

    field: str
    value: str


@dataclass(frozen=True)
class SummaryPage:
    summaries: list[InstanceSummary]
    next_position: Position | None
    """Where the next page starts; ``None`` on the last page."""


class InstanceListing:
    def __init__(self, store: VaultStore, clock: Clock, policies: PolicyCache) -> None:
        self._store = store
        self._clock = clock
        self._policies = policies

    async def vaults(self, scope: InstanceScope) -> list[ListedVault]:
        """The vaults in scope, in key order: one registry query (O(vaults))."""
        listed = []
        for key, document in await self._store.list_vault_documents(
            scope.subscription_id, scope.resource_group
        ):
            vault = vault_of_document(document.value)
            if vault is not None:
                listed.append(ListedVault(key, vault))
        return listed

    async def page(
        self,
        vaults: Sequence[ListedVault],
        *,
        after: Position | None,
        limit: int,
        matches: InstanceFilter | None = None,
        index: IndexChoice | None = None,
    ) -> SummaryPage:
        """Up to ``limit`` summaries of visible instances of ``vaults`` (in key order) after ``after``.

        Each vault is read with keyset pages of about the rows still wanted: from the instance
        index when ``index`` names one and the vault's index is complete (O(matches)), else from
        its instance rows. ``matches`` (what is left of the filter) makes a page read further,
        never serve less.
        """
        found: list[tuple[str, InstanceSummary]] = []
        wanted = limit + 1  # one more than the page: whether another page follows
        for listed in vaults:
            if after is not None and listed.key < after.vault_key:
                continue
            start = after.instance if after is not None and listed.key == after.vault_key else None
            indexed = index is not None and await self._store.instance_index_ready(listed.vault)
            while len(found) < wanted:
                if indexed and index is not None:
                    instances, more = await self._store.indexed_instances_page(
                        listed.vault,
                        field=index.field,
                        value=index.value,
                        after=start,
                        limit=wanted - len(found),
                    )
                else:
                    instances, more = await self._store.instances_page(
                        listed.vault, after=start, limit=wanted - len(found)
                    )
                for instance in instances:
                    if instance.is_soft_deleted:  # the status index holds them too
                        continue
                    summary = self.summary(instance)
                    if matches is None or matches(summary):
                        found.append((listed.key, summary))
                if not more:
                    break
                if instances:
                    start = instances[-1].name.lower()
                elif not indexed:
                    break
                # else: every index row read named an instance that changed meanwhile; the index
                # changed with it, so reading the same range again moves on.
            if len(found) >= wanted:
                break
        served = found[:limit]
        if len(found) <= limit or not served:
            return SummaryPage([summary for _, summary in served], None)
        last_key, last = served[-1]
        return SummaryPage([summary for _, summary in served], Position(last_key, last.instance.name.lower()))

    async def for_datasource(self, scope: InstanceScope) -> list[InstanceSummary]:
        """The instance protecting one disk, if any, from whichever vault protects it: one point
        read of the disk's claim, one of the instance."""
        assert scope.datasource_id is not None
        claim = await self._store.get_datasource_claim(str(scope.datasource_id))
        if claim is None:
            return []
        current = await self._store.get_instance(claim.value.vault, claim.value.instance)
        if current is None or current.value.is_soft_deleted:
            return []
        return [self.summary(current.value)]

    def summary(self, instance: BackupInstance) -> InstanceSummary:
        active = instance.protection_state.takes_scheduled_backups
        next_backup = (
            self._policies.parse(instance.policy_document).schedule.next_slot(self._clock.now())
            if active
            else None
        )
        return InstanceSummary(instance, instance_health(instance, active=active), next_backup)
