"""Distinct users over a period from one small sketch per day: HyperLogLog.

Users active on each day add up to more than the users active over the period (most come back),
and counting them exactly means scanning every event of the period on every view (a second of
CPU at a million users). A day's sketch keeps, for each of REGISTERS buckets of users, the
largest "rank" among its users' hashes; the sketches of several days merge by taking each
bucket's largest rank, and the merged sketch estimates the distinct users of all those days
with a standard error of 1.6% (1.04 / sqrt(REGISTERS)), and exactly for a handful of users
(linear counting).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

#: 2^12 buckets: 4 KiB a day, a standard error of 1.6%.
REGISTERS = 4096
#: Hashes are 31-bit: their low 12 bits pick the bucket, the 19 above them the rank.
MASK = 0x7FFFFFFF
BUCKET_BITS = 12
RANK_BITS = MASK.bit_length() - BUCKET_BITS
#: The multiplier of the mixing rounds (a well-tested 32-bit integer hash's) and the seed.
MULTIPLIER = 0x45D9F3B
SEED = 0x2545F491


def mix(user_pk: int, seed: int = SEED) -> int:
    """A 31-bit hash of a user's row id: two rounds of xor-shift-multiply (a linear hash alone
    clusters sequential ids and misleads the estimate by half)."""
    h = (user_pk & MASK) ^ seed
    h = (((h >> 16) ^ h) * MULTIPLIER) & MASK
    h = (((h >> 16) ^ h) * MULTIPLIER) & MASK
    return (h >> 16) ^ h


def rank(hashed: int) -> int:
    """The position of the first 1 bit of a hash's rank bits, from the top (1 .. 20)."""
    return RANK_BITS - (hashed >> BUCKET_BITS).bit_length() + 1


def from_users(user_pks: Iterable[int]) -> bytes:
    """The sketch of these users (row ids): each bucket holds the largest rank of its users'
    hashes."""
    registers = bytearray(REGISTERS)
    for user_pk in user_pks:
        hashed = mix(user_pk)
        bucket, value = hashed & (REGISTERS - 1), rank(hashed)
        registers[bucket] = max(registers[bucket], value)
    return bytes(registers)


def merge(sketches: Iterable[bytes]) -> bytearray:
    merged = bytearray(REGISTERS)
    for sketch in sketches:
        if len(sketch) != REGISTERS:
            continue  # not a sketch of this size: skipped rather than misread
        merged = bytearray(map(max, merged, sketch))
    return merged


def estimate(registers: bytes | bytearray) -> int:
    """The distinct users a (merged) sketch has seen."""
    empty = registers.count(0)
    if empty == REGISTERS:
        return 0
    alpha = 0.7213 / (1 + 1.079 / REGISTERS)
    raw = alpha * REGISTERS**2 / sum(2.0**-r for r in registers)
    if raw <= 2.5 * REGISTERS and empty:
        return round(REGISTERS * math.log(REGISTERS / empty))  # linear counting: small counts
    return round(raw)
