"""Azure Disk Backup: scheduled incremental snapshots of managed disks, retention and restore.

Layers, innermost first:

* ``backup.domain``   - pure policy, schedule and retention logic; no Azure SDK imports.
* ``backup.adapters`` - the only code that talks to Azure (Table Storage, Compute).
* services            - orchestrate domain and adapters.
* ``function_app.py`` - thin triggers that hand off to the services.
"""
