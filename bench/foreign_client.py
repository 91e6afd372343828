"""``python -m bench.foreign_client``: another program spending a share of ARM's budget.

It calls ARM with the app's own token (the same principal, so the same buckets) at a fixed
rate per subscription: GETs of a disk (reads) and PATCHes of a tag on a disk of its own
(writes), open loop, as a busy deployment pipeline would, whatever answers it gets. The app
cannot see it except through ARM's answers: fewer tokens left, and 429s.

Prints ``{"ready": true}`` when started; on SIGTERM it prints what it sent, as
``{"byMethod": {...}, "byStatus": {...}, "byMethodStatus": {"GET 200": n, ...}}``, so that the
app's own request counts are the emulator's counters minus these.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import signal
import ssl
import sys
from collections import Counter
from typing import Any

import aiohttp

API_VERSION = "2024-03-02"


class ForeignClient:
    def __init__(self, session: aiohttp.ClientSession, endpoint: str, token: str) -> None:
        self._session = session
        self._endpoint = endpoint.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.sent: Counter[str] = Counter()
        self._inflight: set[asyncio.Task[None]] = set()

    async def _call(self, method: str, path: str, body: dict[str, Any] | None) -> None:
        url = f"{self._endpoint}{path}?api-version={API_VERSION}"
        status = "error"
        try:
            async with self._session.request(method, url, json=body, headers=self._headers) as response:
                await response.read()
                status = str(response.status)
        except (aiohttp.ClientError, TimeoutError):
            pass
        self.sent[f"{method} {status}"] += 1

    def fire(self, method: str, path: str, body: dict[str, Any] | None = None) -> None:
        """Send without waiting for the answer: the rate does not slow down when ARM does."""
        task = asyncio.create_task(self._call(method, path, body))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def every(self, rate: float, send: Any, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        for count in itertools.count():
            delay = start + count / rate - loop.time()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                return
            send(count)

    async def drain(self) -> None:
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=30)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    context = ssl.create_default_context(cafile=args.ca_bundle)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    connector = aiohttp.TCPConnector(ssl=context, limit=64)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        client = ForeignClient(session, args.endpoint, args.token)
        tasks = []
        for subscription in args.subscription:
            disks = [
                f"/subscriptions/{subscription}/resourceGroups/{args.resource_group}/providers/"
                f"Microsoft.Compute/disks/{args.disk_prefix}{index:02d}"
                for index in range(args.disks)
            ]

            def read(count: int, disks: list[str] = disks) -> None:
                client.fire("GET", disks[count % len(disks)])

            def write(count: int, disks: list[str] = disks) -> None:
                client.fire("PATCH", disks[count % len(disks)], {"tags": {"pipeline-run": str(count)}})

            tasks.append(asyncio.create_task(client.every(args.reads_per_second, read, stop)))
            tasks.append(asyncio.create_task(client.every(args.writes_per_second, write, stop)))
        print(json.dumps({"ready": True}), flush=True)
        await stop.wait()
        await asyncio.gather(*tasks)
        await client.drain()
    by_method: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    for key, count in client.sent.items():
        method, status = key.split(" ", 1)
        by_method[method] += count
        by_status[status] += count
    return {"byMethod": dict(by_method), "byStatus": dict(by_status), "byMethodStatus": dict(client.sent)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.foreign_client", description=__doc__)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--ca-bundle", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--subscription", action="append", required=True)
    parser.add_argument("--resource-group", required=True)
    parser.add_argument("--disk-prefix", default="pipeline-")
    parser.add_argument("--disks", type=int, default=16)
    parser.add_argument("--reads-per-second", type=float, required=True)
    parser.add_argument("--writes-per-second", type=float, required=True)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(run(args))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
