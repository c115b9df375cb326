"""Reward code pools: the tenant uploads unique codes (a CSV), each redemption takes one.

A code is taken by one statement, ``UPDATE ... WHERE id = (SELECT ... LIMIT 1 FOR UPDATE SKIP
LOCKED)``: on PostgreSQL racing redemptions each lock a different free code and never wait on
each other's; SQLite has one writer, so the same statement (without the locking clause, which it
does not know) takes turns. A redemption that finds every free code locked by others asks again
without SKIP LOCKED, waiting for them: a code freed by a rolled-back redemption is not missed.

Codes are the users' secrets: nothing here logs one, puts one in an error message, the audit
log or a webhook. An upload's refusals name the line, never its content.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.orm import Session

from plaudit.access.scope import scoped, tenant_filter
from plaudit.audit.recorder import record
from plaudit.errors import Conflict
from plaudit.products.models import Product
from plaudit.store.bulk import insert_rows
from plaudit.webhooks.service import enqueue

from . import repository
from .models import Reward, RewardCode

MAX_CODE_LENGTH = 200
#: Codes inserted per statement; the CLI commits this many per transaction by default.
BATCH = 1000
#: Refused lines an answer lists one by one (it counts all of them).
MAX_REPORTED = 100
#: A line longer than this is refused unread: no code (nor any CSV row holding one) is this long.
MAX_LINE_BYTES = 4096

_codes: Table = RewardCode.__table__  # type: ignore[assignment]
_CODE_COLUMNS = ("product_id", "reward_id", "code", "created_at")


@dataclass(frozen=True)
class Refused:
    line: int
    error: str


@dataclass
class CodeFile:
    """A CSV of codes read as it arrives, chunk by chunk: one code per line, in the column
    headed ``code`` if the first line names one (else the first column). Blank lines are
    skipped; a line that holds no valid code is refused by its number."""

    line: int = 0
    refused: list[Refused] = field(default_factory=list)
    refused_count: int = 0
    _rest: bytes = b""
    _column: int | None = None

    def feed(self, data: bytes) -> list[str]:
        """The codes of the complete lines ``data`` ends; a partial last line waits."""
        lines = (self._rest + data).split(b"\n")
        self._rest = lines.pop()
        if len(self._rest) > MAX_LINE_BYTES:  # refused now, not held until its end arrives
            self._rest = b""
            self._refuse(self.line + 1, f"is longer than {MAX_LINE_BYTES} bytes")
        return [code for raw in lines if (code := self._read(raw)) is not None]

    def finish(self) -> list[str]:
        """The code of the last line, if the file does not end with a newline."""
        rest, self._rest = self._rest, b""
        return [code] if rest and (code := self._read(rest)) is not None else []

    def _refuse(self, line: int, why: str) -> None:
        self.refused_count += 1
        if len(self.refused) < MAX_REPORTED:
            self.refused.append(Refused(line=line, error=f"Line {line} {why}."))

    def _read(self, raw: bytes) -> str | None:
        self.line += 1
        if self.line == 1 and raw.startswith(b"\xef\xbb\xbf"):  # a spreadsheet's BOM
            raw = raw[3:]
        if len(raw) > MAX_LINE_BYTES:
            self._refuse(self.line, f"is longer than {MAX_LINE_BYTES} bytes")
            return None
        try:
            text = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            self._refuse(self.line, "is not UTF-8 text")
            return None
        try:
            cells = next(csv.reader([text]), [])
        except csv.Error:
            self._refuse(self.line, "is not a CSV row")
            return None
        if not any(cell.strip() for cell in cells):
            return None
        if self._column is None:
            names = [cell.strip().lower() for cell in cells]
            self._column = names.index("code") if "code" in names else 0
            if "code" in names:
                return None  # the header
        if self._column >= len(cells):
            self._refuse(self.line, "has no code column")
            return None
        code = cells[self._column].strip()
        if not code:
            self._refuse(self.line, "has an empty code")
        elif len(code) > MAX_CODE_LENGTH:
            self._refuse(self.line, f"has a code longer than {MAX_CODE_LENGTH} characters")
        elif not code.isprintable():
            self._refuse(self.line, "has a code with a control character")
        else:
            return code
        return None


def read_chunks(chunks: Iterable[bytes], reader: CodeFile) -> Iterator[str]:
    """The codes of a file arriving in chunks, as they complete."""
    for chunk in chunks:
        yield from reader.feed(chunk)
    yield from reader.finish()


@dataclass(frozen=True)
class Added:
    added: int
    duplicates: int


def pool_reward(session: Session, product: Product, reward_id: str) -> Reward:
    """The product's reward, if it hands out codes; refused otherwise."""
    reward = repository.reward(session, product.id, reward_id)
    if reward.fulfilment != "code":
        raise Conflict(
            f"The reward {reward.name!r} is fulfilled {reward.fulfilment!r}, not from codes.",
            hint="Set its fulfilment to 'code' first (PATCH the reward).",
        )
    return reward


def add_codes(session: Session, reward: Reward, codes: Iterable[str], *, now: dt.datetime) -> Added:
    """Add codes to the reward's pool in batches; the ones it holds already (or twice in
    ``codes``) are skipped and counted as duplicates."""
    added = duplicates = 0
    batch: list[str] = []

    def flush() -> None:
        nonlocal added, duplicates
        unique = list(dict.fromkeys(batch))
        rows = [(reward.product_id, reward.id, code, now) for code in unique]
        inserted = len(
            insert_rows(
                session, _codes, _CODE_COLUMNS, rows, tail="ON CONFLICT DO NOTHING RETURNING id"
            )
        )
        added += inserted
        duplicates += len(batch) - inserted
        batch.clear()

    for code in codes:
        batch.append(code)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return Added(added=added, duplicates=duplicates)


def uploaded(session: Session, reward: Reward, added: Added, *, now: dt.datetime) -> int:
    """After an upload: record it (counts only) and re-arm the low alert if the pool is above
    its mark again. Returns the codes remaining."""
    record(
        session,
        product_id=reward.product_id,
        action="reward.codes_upload",
        target_type="reward",
        target_id=reward.id,
        changes={"codes_added": {"after": added.added}, "duplicates": {"after": added.duplicates}},
        now=now,
    )
    left = remaining(session, reward)
    if reward.low_codes_at is not None and left > reward.low_codes_at:
        session.execute(
            update(Reward)
            .where(tenant_filter(Reward, reward.product_id), Reward.id == reward.id)
            .values(low_codes_alerted=False)
        )
    return left


def _free(product_id: str, reward_id: str) -> Any:
    return (
        scoped(RewardCode, product_id)
        .with_only_columns(RewardCode.id)
        .where(RewardCode.reward_id == reward_id, RewardCode.redemption_id.is_(None))
    )


def remaining(session: Session, reward: Reward) -> int:
    """How many codes the reward's pool has left."""
    counted = _free(reward.product_id, reward.id).with_only_columns(func.count())
    return int(session.scalar(counted) or 0)


def remaining_by_reward(session: Session, product_id: str) -> dict[str, int]:
    """The codes left in each of the product's pools (a reward with none is absent)."""
    rows = session.execute(
        scoped(RewardCode, product_id)
        .with_only_columns(RewardCode.reward_id, func.count())
        .where(RewardCode.redemption_id.is_(None))
        .group_by(RewardCode.reward_id)
    )
    return {reward_id: int(n) for reward_id, n in rows}


def handed_out(session: Session, reward: Reward) -> int:
    counted = (
        scoped(RewardCode, reward.product_id)
        .with_only_columns(func.count())
        .where(RewardCode.reward_id == reward.id, RewardCode.redemption_id.is_not(None))
    )
    return int(session.scalar(counted) or 0)


def discard_unused(session: Session, reward: Reward) -> int:
    """Remove the codes no redemption took; those handed out stay with their redemptions."""
    done = session.execute(
        delete(RewardCode).where(
            tenant_filter(RewardCode, reward.product_id),
            RewardCode.reward_id == reward.id,
            RewardCode.redemption_id.is_(None),
        )
    )
    return int(done.rowcount)  # type: ignore[attr-defined]


def take(session: Session, reward: Reward, redemption_id: str, *, now: dt.datetime) -> str | None:
    """Take a free code for the redemption (None: the pool is empty), and send
    ``reward_codes.low`` if this took the pool down to its mark."""
    code = _take(session, reward, redemption_id, skip_locked=True)
    if code is None and session.get_bind().dialect.name == "postgresql":
        code = _take(session, reward, redemption_id, skip_locked=False)
    if code is not None and reward.low_codes_at is not None:
        _alert_if_low(session, reward, now=now)
    return code


def _take(session: Session, reward: Reward, redemption_id: str, *, skip_locked: bool) -> str | None:
    first_free = (
        _free(reward.product_id, reward.id)
        .order_by(RewardCode.id)
        .limit(1)
        .with_for_update(skip_locked=skip_locked)
        .scalar_subquery()
    )
    taken = session.execute(
        update(RewardCode)
        .where(tenant_filter(RewardCode, reward.product_id), RewardCode.id == first_free)
        .values(redemption_id=redemption_id)
        .returning(RewardCode.code)
    ).first()
    return None if taken is None else str(taken[0])


def _alert_if_low(session: Session, reward: Reward, *, now: dt.datetime) -> None:
    mark = reward.low_codes_at
    assert mark is not None  # noqa: S101  # the caller checked
    # Counts no further than the mark: a pool of a million is not counted per redemption.
    near = session.scalar(
        select(func.count()).select_from(
            _free(reward.product_id, reward.id).limit(mark + 1).subquery()
        )
    )
    left = int(near or 0)
    if left > mark:
        return
    # Once per fall below the mark: the first redemption to get here flips the flag.
    flipped = session.execute(
        update(Reward)
        .where(
            tenant_filter(Reward, reward.product_id),
            Reward.id == reward.id,
            Reward.low_codes_alerted.is_(False),
        )
        .values(low_codes_alerted=True)
    )
    if flipped.rowcount:  # type: ignore[attr-defined]
        enqueue(
            session,
            product_id=reward.product_id,
            event_type="reward_codes.low",
            data={
                "reward": {"id": reward.id, "name": reward.name},
                "remaining": left,
                "low_codes_at": mark,
            },
            user_id=None,
            now=now,
        )
