"""Who is calling and what they may read: credentials, principals, the request's database
session, the one tenant-scoping function, and the bounded caches.

It sits below every feature package and imports none of them: features receive what they
need from it as typed ``Annotated`` dependencies (``DbSession``, ``Manager``) and start every
statement of tenant data from ``scope.scoped``. The dependencies that load a feature's rows
live with that feature: ``plaudit.products.dependencies.ManagedProduct`` (a product the
principal may manage) and ``plaudit.users.client`` (the user a verified token names).
"""
