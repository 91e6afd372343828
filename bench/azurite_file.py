"""Seeding hundreds of thousands of rows into Azurite in seconds: add them to its database file
while it is stopped.

Azurite applies each operation of a transaction with a scan of the partition and refuses
overlapping transactions into one partition, so writing 100,000 jobs (400,000 rows with their
index copies) through its API takes far longer than a benchmark may. A bench instead creates
what the product must create itself (vaults, markers) through the store on an Azurite with a
data folder, lets it save (:data:`AUTOSAVE_SECONDS`), stops it, adds the bulk rows to the table
database with :func:`add_rows` exactly as Azurite stores an entity, and starts a new Azurite on
the same folder (allow :data:`LOAD_SECONDS`), which loads them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

TABLE_DATABASE = "__azurite_db_table__.json"
ACCOUNT = "devstoreaccount1"
AUTOSAVE_SECONDS = 6
"""Azurite saves its database every 5 seconds (and when it stops, if given the time)."""
LOAD_SECONDS = 600.0
"""How long a restarted Azurite may take to load a database of some hundred thousand rows."""


def add_rows(
    location: Path,
    table: str,
    rows: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    saved_row: tuple[str, str],
) -> int:
    """Append ``(partition, entity)`` rows to ``table`` in the stopped Azurite's database at
    ``location``; ``saved_row`` (a partition and row key written through the API before it
    stopped) proves Azurite saved its state first. Returns how many rows were added."""
    database = location / TABLE_DATABASE
    state = json.loads(database.read_text(encoding="utf-8"))
    [collection] = [c for c in state["collections"] if c["name"] == f"{ACCOUNT}${table}"]
    if not any((doc["PartitionKey"], doc["RowKey"]) == saved_row for doc in collection["data"]):
        raise RuntimeError("Azurite did not save the rows written through it before it stopped")
    stamp = datetime.now(UTC)
    next_id = collection["maxId"] + 1
    added = 0
    for partition, entity in rows:
        collection["data"].append(stored_entity(partition, entity, stamp, next_id))
        next_id += 1
        added += 1
    collection["maxId"] = next_id - 1
    data = collection["data"]
    for name, index in collection["binaryIndices"].items():
        # Loki keeps, per indexed property, the positions of the documents in sorted order.
        index["values"] = sorted(range(len(data)), key=lambda position: data[position][name])
        index["dirty"] = False
    database.write_text(json.dumps(state), encoding="utf-8")
    return added


def stored_entity(partition: str, entity: Mapping[str, Any], stamp: datetime, loki_id: int) -> dict[str, Any]:
    """One entity as Azurite keeps it (typed properties carry their ``@odata.type``)."""
    moment = stamp.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    properties: dict[str, Any] = {"PartitionKey": partition, "RowKey": entity["RowKey"]}
    for name, value in entity.items():
        if name in ("PartitionKey", "RowKey") or value is None:
            continue
        if isinstance(value, datetime):
            properties[name] = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            properties[f"{name}@odata.type"] = "Edm.DateTime"
        else:
            properties[name] = value
    properties["Timestamp"] = moment
    properties["Timestamp@odata.type"] = "Edm.DateTime"
    return {
        "PartitionKey": partition,
        "RowKey": entity["RowKey"],
        "properties": properties,
        "lastModifiedTime": moment,
        "eTag": f"W/\"datetime'{quote(moment)}'\"",
        "meta": {"revision": 0, "created": int(stamp.timestamp() * 1000), "version": 0},
        "$loki": loki_id,
    }


def wait_until_saved(location: Path, since: float, timeout: float = 180.0) -> None:
    """Wait until the running Azurite at ``location`` has saved its table database after
    ``since`` (a ``time.time()``), so a timed sample does not share Azurite's one thread with
    the save: with a database of hundreds of thousands of rows, building its JSON stalls every
    request for seconds (an artefact of the emulator's file store, not of Table Storage)."""
    database = location / TABLE_DATABASE
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if database.stat().st_mtime > since:
            return  # Loki writes the file aside and renames it: once it moved, the save is done
        time.sleep(0.5)
    raise RuntimeError(f"Azurite did not save its database within {timeout:.0f} s")
