"""Protecting a disk: validate, configure, stop, suspend, resume, delete (soft), undelete, purge.

* :mod:`.checks` - validate for backup (:class:`ProtectionChecks`, :class:`ProtectionCheckError`,
  :func:`with_vault_identity`);
* :mod:`.claims` - one disk, one instance (:class:`DatasourceClaims`);
* :mod:`.lifecycle` - :class:`ProtectionService`, the API's and the CLI's use case;
* :mod:`.purge` - :class:`InstancePurger`, removing soft-deleted instances when their period ends.

The rules that need no I/O are in :mod:`backup.domain.protection` and on
:class:`~backup.domain.instance.BackupInstance`.
"""

from backup.services.protection.checks import ProtectionCheckError, ValidatedProtection, with_vault_identity
from backup.services.protection.lifecycle import ProtectionService
from backup.services.protection.purge import InstancePurger, PurgeResult

__all__ = [
    "InstancePurger",
    "ProtectionCheckError",
    "ProtectionService",
    "PurgeResult",
    "ValidatedProtection",
    "with_vault_identity",
]
