"""Whether the app can do its work: storage answers and ARM can be reached."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from backup import names
from backup.bootstrap import Runtime

CHECK_TIMEOUT_SECONDS = 5.0


@dataclass
class HealthReport:
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, object]:
        if self.healthy:
            return {"status": "ok"}
        return {"status": "unavailable", "reasons": self.problems}


async def check(runtime: Runtime) -> HealthReport:
    report = HealthReport()

    async def storage() -> None:
        table = await runtime.storage.table(names.VAULTS_TABLE)
        async for _ in table.list_entities(results_per_page=1, select=["PartitionKey"]):
            break

    async def arm() -> None:
        await runtime.compute.ping()

    for name, probe in (("storage", storage), ("Azure Resource Manager", arm)):
        try:
            await asyncio.wait_for(probe(), CHECK_TIMEOUT_SECONDS)
        except Exception as error:  # a health check reports every failure; it never raises
            report.problems.append(f"{name} is not reachable: {type(error).__name__}: {error}"[:300])
    return report
