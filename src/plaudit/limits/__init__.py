"""Limits an operator expects of a proxy such as Envoy or Kong, built into the server.

- ``body``: the largest request body per route class, refused with 413 before it is read;
- ``rates``: the rate-limit classes and their counters, per process or shared through Redis;
- ``address``: who "the client" is (the peer, or a trusted proxy's X-Forwarded-For);
- ``counts``: refusals per product and code, for the integration health page;
- ``web``: the one-line calls the routes make.

This package's ``__init__`` imports nothing: ``plaudit.settings`` reads ``rates.parse_rate``.
The defaults and how to change them are in docs/configuration.md ("Limits").
"""
