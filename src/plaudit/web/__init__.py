"""The ASGI glue: the hot paths (verify, single events), error rendering (RFC 6750 headers),
CORS and the OpenAPI document. Who is calling lives in ``plaudit.access`` and
``plaudit.users.client``.

``state.py``, ``management.py`` and ``client.py`` only re-export the old names for the
feature packages that have not moved to those dependencies yet; they go when none imports
them.
"""
