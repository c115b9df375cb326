"""What every request body of the API shares, whichever feature it belongs to."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic_core import PydanticCustomError

from plaudit.auth.encoding import json_scalars
from plaudit.errors import CONTROL_CHARACTER_ERROR

#: An event type, as events carry it and as rules and badges name it.
EVENT_TYPE = r"^[A-Za-z0-9_.:-]+$"
#: C0 and C1 control characters and DEL: never part of an id, a code or an email.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: Half a UTF-16 pair: JSON's ``\ud800`` escape makes one, and no driver can encode it as UTF-8.
LONE_SURROGATES = re.compile(r"[\ud800-\udfff]")


def _valid_unicode(text: str) -> None:
    if LONE_SURROGATES.search(text):
        raise PydanticCustomError("string_unicode", "must be valid Unicode (a lone surrogate)")


def no_control_characters(value: str) -> str:
    """Refuse a control character in an identifier: SQLite would store a NUL that no lookup
    then finds, PostgreSQL refuses it; both stores answer the same 422 instead. A lone
    surrogate too: pydantic lets one through an optional field, and the driver's UTF-8
    encoding then failed as a 500 (an event's ``id`` or ``reverses``, the round-13 review)."""
    if CONTROL_CHARACTERS.search(value):
        raise PydanticCustomError(CONTROL_CHARACTER_ERROR, "must not hold control characters")
    _valid_unicode(value)
    return value


#: A user id, event id, referral code, key id, email...: text without control characters.
Identifier = Annotated[str, AfterValidator(no_control_characters)]


def storable_json(value: dict[str, Any]) -> dict[str, Any]:
    """Refuse what no store keeps alike in a JSON object: NaN and Infinity, and a lone UTF-16
    surrogate in a key or a string. JSON has no such numbers and UTF-8 no such characters, but
    Python's parser reads both: PostgreSQL refused the numbers (a 422) while SQLite stored them
    (a 202), and a stored surrogate made the user's export a 500 on both stores. Both stores now
    answer the same 422 before anything is written (the round-13 hostile reviews)."""
    for item in json_scalars(value):
        kind = type(item)
        if kind is str:
            _valid_unicode(item)
        elif kind is float and not math.isfinite(item):
            raise PydanticCustomError(
                "finite_number", "must hold only finite numbers: NaN and Infinity are not JSON"
            )
    return value


#: A JSON object a request carries to be stored (an event's properties).
JsonObject = Annotated[dict[str, Any], AfterValidator(storable_json)]


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
