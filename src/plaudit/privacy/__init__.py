"""Privacy requests: everything Plaudit holds about one user, exported as one JSON document,
or erased (personal data removed, the user id replaced by a pseudonym, what others are owed
kept). Each request is recorded (``models.PrivacyRequest``) and audited. docs/privacy.md.

It sits above the programs, like the pipeline: it reads and rewrites every feature's rows of
one user, each statement starting from ``access.scope``.
"""
