"""Restore a recovery point as a new disk: validate, accept, and the queue worker that does it.

Request (``AzureBackupRecoveryPointBasedRestoreRequest``, as the SDK and the CLI send it)::

    {"objectType": "AzureBackupRecoveryPointBasedRestoreRequest",
     "recoveryPointId": "<32 hex or the friendlyName GUID>",
     "sourceDataStoreType": "OperationalStore",
     "restoreTargetInfo": {
        "objectType": "RestoreTargetInfo", "recoveryOption": "FailIfExists",
        "restoreLocation": "<the snapshot's region>",
        "datasourceInfo": {"resourceID": "<ARM id of the new disk>", ...,
                           "resourceProperties": {<optional overrides, below>}}}}

What the new disk gets: the source disk's SKU, zone, performance tier and disk encryption set
as recorded in the snapshot's tags at backup time (:class:`~backup.domain.snapshots.SourceDisk`),
its size from the snapshot, the snapshot's region, the source disk's own tags as recorded on the
recovery point, and two tags naming where it came from
(:data:`~backup.domain.restore.TAG_RESTORED_RECOVERY_POINT`,
:data:`~backup.domain.restore.TAG_RESTORE_JOB`); :func:`backup.domain.restore.disk_settings`
decides it.

Overrides: Azure's request model has no field for disk settings (Azure's disk restore offers
none). ``datasourceInfo.resourceProperties`` is the model's one open object
(``DefaultResourceProperties``), so overrides go there::

    "resourceProperties": {"objectType": "DefaultResourceProperties",
                           "skuName": "Premium_LRS", "zone": "2" | null, "tier": "P30",
                           "diskEncryptionSetId": "<ARM id>", "tags": {"k": "v"}}

``zone: null`` restores without a zone; a ``*_ZRS`` SKU never gets one. Unknown keys are
refused, so a typo cannot silently restore with the wrong settings
(:mod:`backup.shapes.restore` parses the request).

* :mod:`.requests` - :class:`RestoreService`, the API side: the checks, the rate limit, the
  recovery point's lease, queueing the work;
* :mod:`.worker` - :class:`RestoreRunner`, the queue worker: create the disk, map ARM's
  failures to Azure's restore codes, finish the job.
"""

from backup.services.restore.requests import RestoreService
from backup.services.restore.worker import RestoreOutcome, RestoreRunner, restore_error

__all__ = ["RestoreOutcome", "RestoreRunner", "RestoreService", "restore_error"]
