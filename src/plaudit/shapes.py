"""What every request body of the API shares, whichever feature it belongs to."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict

#: An event type, as events carry it and as rules and badges name it.
EVENT_TYPE = r"^[A-Za-z0-9_.:-]+$"


class Strict(BaseModel):
    """A request body: an unknown field is refused by name rather than ignored."""

    model_config = ConfigDict(extra="forbid")


def valid_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone this machine knows (a product's ``time_zone``)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a name that is a folder of the zone database ("Europe"), or unreadable.
        return False
    return True
