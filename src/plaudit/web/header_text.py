"""Text that goes into a response header: never raw attacker text.

An error message may quote what a token carried (its ``kid``, its ``alg``). Starlette encodes
header values as Latin-1, so a snowman in a ``kid`` used to turn a 401 into a 500; a quote,
backslash or CR/LF could break out of the quoted string. RFC 6750 section 3 allows only
``%x20-21 / %x23-5B / %x5D-7E`` in ``error_description``: everything else becomes ``?``.
The full message, in JSON, is in the body.
"""

from __future__ import annotations

import re

_OUTSIDE_RFC6750 = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")
MAX_DESCRIPTION = 200


def description_value(text: str, *, limit: int = MAX_DESCRIPTION) -> str:
    """``text`` as RFC 6750 allows inside ``error_description="..."``, at most ``limit`` long."""
    return _OUTSIDE_RFC6750.sub("?", text[:limit].replace('"', "'"))
