"""The fix ``localdev/azurite_fixes.cjs`` makes to Azurite's queue store: in place, and harmless.

Without it, every receive and delete re-sorted every message waiting in the queue (the file
says why); the benchmarks measure how much that costs, these tests only what it does.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from pathlib import Path

import pytest
from azure.storage.queue.aio import QueueServiceClient

from localdev.azurite import FIXES, PROJECT_ROOT, Azurite, AzuriteEndpoints
from localdev.ports import listens_on

pytestmark = pytest.mark.integration

# Runs Azurite's queue store class with the fix loaded, over a stand-in LokiJS collection
# that records what is removed and refuses an empty batch (the call the fix must not make).
_PROBE = """
const store = require("azurite/dist/src/queue/persistence/LokiQueueMetadataStore").default;
const removed = [];
function storeOver(docs) {
  const coll = {
    chain: () => ({
      find: (query) => ({ data: () => docs.filter((d) => d.expirationTime <= query.expirationTime.$lte) }),
    }),
    remove: (batch) => {
      if (batch.length === 0) throw new Error("an empty batch reached remove()");
      removed.push(...batch.map((d) => d.id));
    },
  };
  return Object.assign(Object.create(store.prototype), {
    MESSAGES_COLLECTION: "$MESSAGES_COLLECTION$",
    checkQueueExist: () => undefined,
    db: { getCollection: () => coll },
  });
}
(async () => {
  await storeOver([{ id: "later", expirationTime: Date.now() + 60000 }]).clearExpiredMessages("a", "q");
  await storeOver([
    { id: "gone", expirationTime: 1 },
    { id: "later", expirationTime: Date.now() + 60000 },
  ]).clearExpiredMessages("a", "q");
  console.log(JSON.stringify({ fixed: store.prototype.clearExpiredMessages.azuriteFix === true, removed }));
})().catch((error) => { console.error(error.message); process.exit(1); });
"""


def _node_with_fix(script: str) -> subprocess.CompletedProcess[str]:
    node, require, fixes, _azurite = Azurite.command()
    return subprocess.run(
        [node, require, fixes, "-e", script],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_fix_removes_expired_messages_and_never_an_empty_batch() -> None:
    result = _node_with_fix(_PROBE)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"fixed": True, "removed": ["gone"]}


def test_the_fix_refuses_to_load_over_a_changed_azurite() -> None:
    # Stands for an Azurite upgrade that rewrote the function: the fix must say so, not load.
    changed = (
        'const s = require("azurite/dist/src/queue/persistence/LokiQueueMetadataStore").default;'
        "s.prototype.clearExpiredMessages = async function () {};"
        f"require({json.dumps(str(FIXES))});"
    )
    node, _require, _fixes, _azurite = Azurite.command()
    # A fresh module cache: load the store, change it, then load the fix over it.
    result = subprocess.run(
        [node, "-e", changed], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "not the 3.35.0 one" in result.stderr


def test_azurite_runs_with_the_fix_and_without_telemetry(azurite: AzuriteEndpoints) -> None:
    running = [
        Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        for pid in (p.name for p in Path("/proc").iterdir() if p.name.isdigit())
        if _listens(pid, azurite.queue_port)
    ]
    assert running, "no process of this machine listens on Azurite's queue port"
    [cmdline] = running
    assert str(FIXES).encode() in cmdline
    assert b"--disableTelemetry" in cmdline


def _listens(pid: str, port: int) -> bool:
    try:
        return bool(listens_on(int(pid), port))
    except OSError:
        return False


async def test_expired_messages_still_leave_the_queue(azurite: AzuriteEndpoints) -> None:
    async with QueueServiceClient.from_connection_string(azurite.connection_string) as service:
        queue = await service.create_queue("fix-" + uuid.uuid4().hex[:12])
        await queue.send_message("short-lived", time_to_live=1)
        await queue.send_message("kept")
        await asyncio.sleep(2.1)  # past the first message's time to live (not a timing assertion)
        received = [message.content async for message in queue.receive_messages(max_messages=32)]
        assert received == ["kept"]
        assert (await queue.get_queue_properties()).approximate_message_count == 1
