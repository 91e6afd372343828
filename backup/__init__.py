"""Azure Disk Backup: scheduled incremental snapshots of managed disks, retention and restore.

Layers, innermost first; each imports only from the layers above it in this list:

* ``backup.domain``      - the model and its rules: policies, schedules, retention, limits
  (``limits.py`` holds every quota), instances and their state transitions, what protecting a
  disk may change (``protection.py``), a restore's plan (``restore.py``: the new disk's
  settings, the queue message, the rate), the values services and adapters share
  (``records.py``, ``arm.py``). Pure Python: no Azure SDK, no I/O.
* ``backup.shapes``      - each Azure request body declared once (msgspec), which validates
  requests into domain values and generates the OpenAPI schemas.
* ``backup.ports``       - ``typing.Protocol``s for what the services need from outside: the
  vault store, the ARM gateway, the queue senders, the clock.
* ``backup.services``    - the use cases, written against the ports only: plan, back up,
  maintenance (sweep, purge, reconcile), on-demand backup; ``protection/`` (checks, claims,
  lifecycle, purge) and ``restore/`` (the API side, the worker) are packages of one-job
  modules. A service imports shared one-job modules (``etag_retry``, ``messages``, ...) and
  its own package's modules, never another service's (``maintenance`` takes the services it
  is made of in its constructor).
* ``backup.api``         - the ARM-shaped HTTP API: routing, validation, rendering; it calls
  the services and reads through the store port.
* ``backup.adapters``    - the only code that talks to Azure (Table Storage, queues, Compute).
* ``backup.bootstrap``   - the composition root: the one place that picks the adapters behind
  the ports and builds every service, lazily, once per process.
* ``backup.entrypoints`` - thin Functions triggers (and ``backup.cli``) that ask the root for a
  service and hand off to it.

``tests/unit/test_layers.py`` checks the import rules.
"""
