"""Formatting shared by the resource renderers: ARM times and ISO 8601 durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def rfc3339(moment: datetime | None) -> str | None:
    """``2026-11-26T04:00:00Z`` (fractions kept only when present), as ARM writes times."""
    if moment is None:
        return None
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def iso_duration(delta: timedelta) -> str:
    """``PT1H2M3.5S``; never negative."""
    total = max(delta, timedelta(0))
    days = total.days
    seconds = total.seconds + total.microseconds / 1_000_000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "P" + (f"{days}D" if days else "")
    clock = ""
    if hours:
        clock += f"{int(hours)}H"
    if minutes:
        clock += f"{int(minutes)}M"
    if secs or not (days or clock):
        clock += f"{secs:.3f}".rstrip("0").rstrip(".") + "S"
    return text + ("T" + clock if clock else "")
