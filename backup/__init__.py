"""Azure Disk Backup: scheduled incremental snapshots of managed disks, retention and restore.

Layers, innermost first; each imports only from the layers above it in this list:

* ``backup.domain``      - the model and its rules: policies, schedules, retention, limits
  (``limits.py`` holds every quota), instances and their states, the values services and
  adapters share (``records.py``, ``arm.py``). Pure Python: no Azure SDK, no I/O.
* ``backup.ports``       - ``typing.Protocol``s for what the services need from outside: the
  vault store, the ARM gateway, the queue senders, the clock.
* ``backup.services``    - the use cases (plan, back up, sweep/purge/reconcile, protect,
  on-demand backup, restore), written against the ports only.
* ``backup.api``         - the ARM-shaped HTTP API: routing, validation, rendering; it calls
  the services and reads through the store port.
* ``backup.adapters``    - the only code that talks to Azure (Table Storage, queues, Compute).
* ``backup.bootstrap``   - the composition root: the one place that picks the adapters behind
  the ports and builds every service, lazily, once per process.
* ``backup.entrypoints`` - thin Functions triggers (and ``backup.cli``) that ask the root for a
  service and hand off to it.

``tests/unit/test_layers.py`` checks the import rules.
"""
