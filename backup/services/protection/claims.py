"""One disk, one instance: the *datasource claim* row names the instance protecting each disk.

A claim is inserted before the instance row (the insert fails if another claim exists, so two
vaults racing for one disk cannot both win), kept while the instance exists (soft-deleted too, so
undelete never conflicts) and released when the instance is purged. A claim whose instance does
not exist (a crash between claim and create, or a purge that died before releasing) is stale
after :data:`~backup.domain.limits.CLAIM_LEASE` and is taken over with its ETag.
"""

from __future__ import annotations

from backup.domain.clock import Clock
from backup.domain.instance import VaultRef
from backup.domain.limits import CLAIM_LEASE
from backup.domain.models import ProtectionState
from backup.domain.records import DatasourceClaim
from backup.domain.resource_ids import ComputeResourceId
from backup.errors import ConcurrencyError, ConflictError, ValidationError
from backup.ports import VaultStore
from backup.services.etag_retry import raising, retry_lost_races


class DatasourceClaims:
    def __init__(self, store: VaultStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def live(self, disk: ComputeResourceId) -> DatasourceClaim | None:
        """The claim on a disk if it is live: its instance exists and protects this disk, or it is
        younger than :data:`~backup.domain.limits.CLAIM_LEASE` (a create in flight)."""
        found = await self._store.get_datasource_claim(str(disk))
        if found is None:
            return None
        return found.value if await self._is_live(found.value) else None

    async def holder_state(self, claim: DatasourceClaim) -> ProtectionState | None:
        """The state of the instance a claim names; ``None`` if it does not exist (yet)."""
        instance = await self._store.get_instance(claim.vault, claim.instance)
        return instance.value.protection_state if instance is not None else None

    async def take(self, disk: ComputeResourceId, vault: VaultRef, name: str) -> None:
        """Claim the disk for ``vault``'s instance ``name``: new, renewed, or taken over when stale;
        ``UserErrorDppDatasourceAlreadyProtected`` when another instance holds it."""
        claim = DatasourceClaim(str(disk), vault, name, self._clock.now())

        async def attempt() -> None:
            found = await self._store.get_datasource_claim(str(disk))
            try:
                if found is None:
                    await self._store.put_datasource_claim(claim)
                    return
                if found.value.names(vault, name):
                    await self._store.put_datasource_claim(claim, found.etag)
                    return
                if await self._is_live(found.value):
                    raise already_protected(disk, found.value, await self.holder_state(found.value))
                await self._store.put_datasource_claim(claim, found.etag)  # stale: take it over
            except (ConflictError, ConcurrencyError) as error:
                if error.code == "UserErrorDppDatasourceAlreadyProtected":
                    raise
                # Someone else wrote the claim meanwhile: look again.
                raise ConcurrencyError(error.message, code=error.code) from error

        await retry_lost_races(
            attempt,
            exhausted=raising(lambda: ConcurrencyError(f"Could not claim the disk '{disk}'; try again.")),
        )

    async def release(self, disk_id: str, vault: VaultRef, name: str) -> None:
        await self._store.release_datasource_claim(disk_id, vault, name)

    async def _is_live(self, claim: DatasourceClaim) -> bool:
        instance = await self._store.get_instance(claim.vault, claim.instance)
        if instance is not None:
            return instance.value.disk_id.casefold() == claim.disk_id.casefold()
        return self._clock.now() - claim.claimed_at < CLAIM_LEASE


def already_protected(
    disk: ComputeResourceId, holder: DatasourceClaim, state: ProtectionState | None
) -> ValidationError:
    where = f"backup instance '{holder.instance}' of vault '{holder.vault.id}'"
    if state is ProtectionState.SOFT_DELETED:
        hint = (
            " That instance is soft-deleted: undelete it, or wait until it is purged, to protect the disk "
            "again."
        )
    else:
        hint = " Delete that backup instance (stop protection and delete data) to protect it elsewhere."
    return ValidationError(
        f"The disk '{disk}' is already protected by {where}.{hint}",
        code="UserErrorDppDatasourceAlreadyProtected",
        target="properties.dataSourceInfo.resourceID",
    )
