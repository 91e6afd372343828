"""The pure domain: policies, schedules, retention and limits, with no I/O and no Azure SDK.

Modules: ``policy`` (parse and validate Azure-format policies), ``schedule`` (slots and
catch-up), ``retention`` (tags, expiry, deletion, on-demand limits), ``limits`` (every quota,
with the reasoning for each number), ``models`` (Azure's vocabulary), ``records`` (the values
the services and the vault store exchange, each read with its ETag), ``summary`` (a policy in
words), ``timezones`` and ``durations`` (typed wrappers over zoneinfo and isodate), ``clock``.
"""
