"""Fault injection, so the product's retry, poison and resume paths can be exercised on demand.

Draws come from one seeded RNG: a test that sets ``seed`` gets the same sequence of faults
for the same sequence of requests.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

from .lro import Failure

FAULT_KINDS = ("connectionReset", "throttle429", "error500")


@dataclass
class FaultRule:
    operation: str = "*"
    throttle429: float = 0.0
    error500: float = 0.0
    connectionReset: float = 0.0
    lroFailed: float = 0.0
    lroFailedCode: str = "InternalExecutionError"
    lroFailedMessage: str = "An internal execution error occurred. Please retry later."
    # What the Location monitor answers once a failed LRO is done: the synchronous failure.
    lroFailedStatus: int = 500
    # Retry-After of an injected 429.
    retryAfterSeconds: int = 1

    def matches(self, operation: str) -> bool:
        return self.operation == "*" or self.operation.lower() == operation.lower()


@dataclass
class Faults:
    seed: int | None = None
    latencyMs: float = 0.0
    lroDurationSeconds: float | None = None
    rules: list[FaultRule] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random, repr=False)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Faults:
        if not isinstance(doc, dict):
            raise ValueError("faults must be a JSON object")
        known = {"seed", "latencyMs", "lroDurationSeconds", "rules"}
        unknown = set(doc) - known
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        rules = []
        for raw in doc.get("rules") or []:
            if not isinstance(raw, dict):
                raise ValueError("each fault rule must be a JSON object")
            try:
                rule = FaultRule(**raw)
            except TypeError as exc:
                raise ValueError(f"bad fault rule {raw}: {exc}") from None
            for kind in (*FAULT_KINDS, "lroFailed"):
                p = getattr(rule, kind)
                if not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
                    raise ValueError(f"fault probability '{kind}' must be between 0 and 1")
            rules.append(rule)
        seed = doc.get("seed")
        faults = cls(
            seed=seed,
            latencyMs=float(doc.get("latencyMs") or 0.0),
            lroDurationSeconds=(
                None if doc.get("lroDurationSeconds") is None else float(doc["lroDurationSeconds"])
            ),
            rules=rules,
        )
        faults.rng = random.Random(seed)
        return faults

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "latencyMs": self.latencyMs,
            "lroDurationSeconds": self.lroDurationSeconds,
            "rules": [asdict(rule) for rule in self.rules],
        }

    def draw(self, operation: str) -> tuple[str, FaultRule] | None:
        """The request-level fault to inject for this request, if any."""
        for rule in self.rules:
            if not rule.matches(operation):
                continue
            for kind in FAULT_KINDS:
                p = getattr(rule, kind)
                if p > 0 and self.rng.random() < p:
                    return kind, rule
        return None

    def draw_lro_failure(self, operation: str) -> Failure | None:
        for rule in self.rules:
            if rule.matches(operation) and rule.lroFailed > 0 and self.rng.random() < rule.lroFailed:
                return Failure(rule.lroFailedCode, rule.lroFailedMessage, rule.lroFailedStatus)
        return None
