"""The audit log: who changed what in a product's management data, when, and how.

One mechanism for every management change: ``recorder`` listens to the ORM session, sees each
flushed insert, update and delete of a management table (``targets``) and writes its entry in
the same transaction, as the actor the request authenticated (``access.session.acting``), the
CLI or a privacy request named. Changes a flush cannot see the intent of (a points adjustment,
a privacy request) are recorded explicitly with ``recorder.record``. Secrets, key material and
API key hashes never reach an entry: they are redacted or reduced to a fingerprint.
"""
