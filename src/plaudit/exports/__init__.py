"""CSV exports of a product's users, ledger and referrals: streamed row by row from a
server-side cursor, so that any size costs the same memory (see docs/analytics.md)."""
