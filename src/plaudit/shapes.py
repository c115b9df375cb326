"""What every request body of the API shares, whichever feature it belongs to."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

#: An event type, as events carry it and as rules and badges name it.
EVENT_TYPE = r"^[A-Za-z0-9_.:-]+$"


class Strict(BaseModel):
    """A request body: an unknown field is refused by name rather than ignored."""

    model_config = ConfigDict(extra="forbid")
