"""The policy ``timeZone`` field: IANA names, plus the Windows names Azure clients send.

The Azure portal and PowerShell write Windows time-zone IDs (``"W. Europe Standard Time"``),
and some clients write the display name ``"Coordinated Universal Time"``. Python only knows
IANA names, so the common Windows IDs are mapped here to the zone CLDR's ``windowsZones.xml``
lists for territory ``001`` (its "golden" zone), using today's canonical IANA spelling
(``Europe/Kyiv``, not ``Europe/Kiev``). A name found in neither the mapping nor the IANA
database is refused by the policy parser, never guessed.

Lookup of Windows names ignores case; IANA names are case-sensitive, as in tzdata.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WINDOWS_TIME_ZONES: Final = MappingProxyType(
    {
        "UTC": "UTC",
        "Coordinated Universal Time": "UTC",
        "GMT Standard Time": "Europe/London",
        "Greenwich Standard Time": "Atlantic/Reykjavik",
        "W. Europe Standard Time": "Europe/Berlin",
        "Central Europe Standard Time": "Europe/Budapest",
        "Central European Standard Time": "Europe/Warsaw",
        "Romance Standard Time": "Europe/Paris",
        "E. Europe Standard Time": "Europe/Chisinau",
        "FLE Standard Time": "Europe/Kyiv",
        "GTB Standard Time": "Europe/Bucharest",
        "Turkey Standard Time": "Europe/Istanbul",
        "Russian Standard Time": "Europe/Moscow",
        "Israel Standard Time": "Asia/Jerusalem",
        "Egypt Standard Time": "Africa/Cairo",
        "South Africa Standard Time": "Africa/Johannesburg",
        "W. Central Africa Standard Time": "Africa/Lagos",
        "Arab Standard Time": "Asia/Riyadh",
        "Arabian Standard Time": "Asia/Dubai",
        "Pakistan Standard Time": "Asia/Karachi",
        "India Standard Time": "Asia/Kolkata",
        "Nepal Standard Time": "Asia/Kathmandu",
        "SE Asia Standard Time": "Asia/Bangkok",
        "China Standard Time": "Asia/Shanghai",
        "Singapore Standard Time": "Asia/Singapore",
        "Taipei Standard Time": "Asia/Taipei",
        "Tokyo Standard Time": "Asia/Tokyo",
        "Korea Standard Time": "Asia/Seoul",
        "W. Australia Standard Time": "Australia/Perth",
        "Cen. Australia Standard Time": "Australia/Adelaide",
        "E. Australia Standard Time": "Australia/Brisbane",
        "AUS Eastern Standard Time": "Australia/Sydney",
        "New Zealand Standard Time": "Pacific/Auckland",
        "Hawaiian Standard Time": "Pacific/Honolulu",
        "Alaskan Standard Time": "America/Anchorage",
        "Pacific Standard Time": "America/Los_Angeles",
        "US Mountain Standard Time": "America/Phoenix",
        "Mountain Standard Time": "America/Denver",
        "Central Standard Time": "America/Chicago",
        "Canada Central Standard Time": "America/Regina",
        "Central Standard Time (Mexico)": "America/Mexico_City",
        "Eastern Standard Time": "America/New_York",
        "SA Pacific Standard Time": "America/Bogota",
        "Atlantic Standard Time": "America/Halifax",
        "E. South America Standard Time": "America/Sao_Paulo",
        "Argentina Standard Time": "America/Argentina/Buenos_Aires",
    }
)

_WINDOWS_BY_FOLDED_NAME: Final = MappingProxyType(
    {name.casefold(): iana for name, iana in WINDOWS_TIME_ZONES.items()}
)


def lookup_time_zone(name: str) -> ZoneInfo | None:
    """The zone for a Windows or IANA name, or ``None`` when the name is unknown."""
    iana = _WINDOWS_BY_FOLDED_NAME.get(name.strip().casefold(), name.strip())
    if not iana:
        return None
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        # ValueError: keys such as "../etc" or absolute paths, which zoneinfo refuses outright.
        return None
