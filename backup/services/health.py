"""Whether the app can do its work: storage answers and ARM can be reached."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from backup.ports import Reachable

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


async def check(storage: Reachable, arm: Reachable) -> HealthReport:
    """Ask each dependency once, within :data:`CHECK_TIMEOUT_SECONDS`; report every failure."""
    report = HealthReport()
    for name, probe in (("storage", storage), ("Azure Resource Manager", arm)):
        try:
            await asyncio.wait_for(probe.ping(), CHECK_TIMEOUT_SECONDS)
        except Exception as error:  # a health check reports every failure; it never raises
            report.problems.append(f"{name} is not reachable: {type(error).__name__}: {error}"[:300])
    return report
