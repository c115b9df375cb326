"""Plaudit's one way out: every call to a tenant's host (JWKS sources, webhook receivers).

Each call runs outside any database transaction and off the request path, to an address the
policy allows and the transport pins, within one total deadline and a size cap enforced while
the answer streams in; repeated misses share one call (``Flights``). A slow or hostile host
costs only its own tenant, and only up to these bounds (docs/security.md lists them).
"""

from .fetch import Fetched, FetchFailed, fetch
from .flight import Flights
from .policy import check_url, refusal
from .transport import pinned_client

__all__ = ["FetchFailed", "Fetched", "Flights", "check_url", "fetch", "pinned_client", "refusal"]
