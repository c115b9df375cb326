"""What the programs' response models share: read from a row's attributes, times written as the
API has always written them (``datetime.isoformat()``, a string in the OpenAPI document)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


#: A moment or a day, as ISO 8601 text.
IsoTime = Annotated[str, BeforeValidator(_iso)]


# Comments, not docstrings, on response models: a docstring would become the OpenAPI schema's
# description.
class Row(BaseModel):
    model_config = ConfigDict(from_attributes=True)
