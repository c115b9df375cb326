"""The HTTP layer: turns requests into service calls and errors into RFC 6750 responses."""
