"""Names of the tables and queues the product uses. ``infra/`` creates exactly these (tested)."""

from __future__ import annotations

from typing import Final

VAULTS_TABLE: Final = "vaults"
VAULT_DATA_TABLE: Final = "vaultdata"
TABLES: Final = (VAULTS_TABLE, VAULT_DATA_TABLE)

BACKUP_QUEUE: Final = "backup-runs"
"""One message per (instance, slot) or on-demand request; the queue trigger takes the snapshot."""
RESTORE_QUEUE: Final = "restores"
POISON_SUFFIX: Final = "-poison"
"""The Functions host moves a message that failed maxDequeueCount times to ``<queue>-poison``."""
WORK_QUEUES: Final = (BACKUP_QUEUE, RESTORE_QUEUE)
QUEUES: Final = (*WORK_QUEUES, *(queue + POISON_SUFFIX for queue in WORK_QUEUES))
