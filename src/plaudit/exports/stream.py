"""An export as CSV text in chunks, read through a server-side cursor: memory stays the same
whatever the number of rows (PostgreSQL streams from a named cursor; SQLite steps its own)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator

from sqlalchemy.orm import Session

from .cells import cell
from .tables import Export, Window

#: Rows fetched from the cursor at a time.
BATCH = 1000
#: A chunk is sent once it holds about this many characters.
CHUNK = 64 * 1024


def csv_chunks(
    session: Session,
    export: Export,
    product_id: str,
    window: Window = None,
    *,
    on_rows: Callable[[int], None] | None = None,
) -> Iterator[str]:
    """The header, then every row, as CSV text in chunks of about CHUNK characters.
    ``on_rows(n)`` is told each time n more rows were written."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(export.header)
    statement = export.statement(product_id, window).execution_options(yield_per=BATCH)
    pending = 0
    for row in session.execute(statement):
        writer.writerow([cell(value) for value in row])
        pending += 1
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            if on_rows is not None:
                on_rows(pending)
            pending = 0
    yield buffer.getvalue()
    if on_rows is not None and pending:
        on_rows(pending)
