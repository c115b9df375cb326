"""What an operator runs Plaudit with: ``/healthz`` and ``/readyz``, ``/metrics``, and the
request id and count every request gets. The counters themselves are ``plaudit.metrics``;
docs/operations.md says how to scrape, alert and probe."""
