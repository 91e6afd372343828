"""The vault store: the product's state in Table Storage, as ``docs/storage.md`` lays it out.

One object over every row family, because the services are written against one store; each
family's methods are declared once, in its own module, and the store is their union. The family
stores share nothing but the clients (which cache the table clients), so composing them by
inheritance adds no state, and a family can be built and tested on its own.
"""

from __future__ import annotations

from backup.adapters.tables.datasources import DatasourceClaimStore
from backup.adapters.tables.guards import GuardStore
from backup.adapters.tables.instance_index import InstanceIndexStore
from backup.adapters.tables.instances import InstanceStore
from backup.adapters.tables.jobs import JobStore
from backup.adapters.tables.markers import MarkerStore
from backup.adapters.tables.operations import OperationStore
from backup.adapters.tables.overview import OverviewStore
from backup.adapters.tables.policies import PolicyStore
from backup.adapters.tables.recovery_points import RecoveryPointStore
from backup.adapters.tables.registry import VaultRegistry
from backup.adapters.tables.role_assignments import RoleAssignmentRows
from backup.adapters.tables.usage import UsageStore
from backup.adapters.tables.vault_limits import VaultLimitsStore

FAMILIES = (
    VaultRegistry,
    MarkerStore,
    PolicyStore,
    InstanceStore,
    InstanceIndexStore,
    RecoveryPointStore,
    JobStore,
    OperationStore,
    DatasourceClaimStore,
    UsageStore,
    OverviewStore,
    GuardStore,
    RoleAssignmentRows,
    VaultLimitsStore,
)
"""Every row family; no two may declare the same method (``tests/unit/test_table_codecs.py``)."""


class VaultStore(
    VaultRegistry,
    MarkerStore,
    PolicyStore,
    InstanceStore,
    InstanceIndexStore,
    RecoveryPointStore,
    JobStore,
    OperationStore,
    DatasourceClaimStore,
    UsageStore,
    OverviewStore,
    GuardStore,
    RoleAssignmentRows,
    VaultLimitsStore,
):
    """Every row family of the ``vaults`` and ``vaultdata`` tables, built from one ``StorageClients``."""
