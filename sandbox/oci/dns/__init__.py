"""OCI DNS (`/20180115`): public zones, their records, and what DNS queries see of them.

Records are kept as OCI presents them: names lower-case without the trailing dot, RDATA normalised
(TXT quoted, targets absolute). Every change bumps the zone's version and SOA serial and is kept as a
timestamped snapshot, so the authoritative DNS server (`sandbox.dns_server`) can answer from the zone
as it was `propagationDelay` seconds ago, the way OCI's edge servers lag behind its API.

Files: `models` (state and value rules), `backend` (one region's operations), `handlers` (requests and
routes).
"""
from .backend import Backend
from .handlers import CONTROL_ROUTES, ROUTES

__all__ = ["CONTROL_ROUTES", "ROUTES", "Backend"]
