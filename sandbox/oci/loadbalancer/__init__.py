"""OCI Load Balancer (`/20170115`): load balancers, listeners, certificate bundles and work requests.

What certmgr depends on, and so what is emulated closely:
- Every mutation answers 202 with `opc-work-request-id` and changes nothing until its work request
  reaches SUCCEEDED: ACCEPTED -> IN_PROGRESS -> SUCCEEDED over `world.options["work_request_delay"]`
  seconds (read when the request arrives). The change lands on a timer even if nobody polls, and any
  read catches up first, so a client that saw SUCCEEDED also sees the change.
- Work requests of one load balancer run one after another in arrival order: OCI queues them rather
  than refusing the second. A request is validated when it arrives against the state the queue will
  leave, so bad input is answered synchronously (400 / 404 / 409); a queued change whose premise a
  failed predecessor broke fails its own work request with BAD_INPUT.
- `UpdateListener` is a full replacement: whatever the body leaves out is reset to OCI's default.
- `DeleteCertificate` is refused (409) while a listener or backend set uses the bundle.
- Every listener is a live server (`sandbox.tls_listeners`) presenting the certificate it references,
  switched when the work request that changed it succeeds.
Control: `POST /_control/lb/{loadBalancerId}/fail-next-work-request` with `{"count", "message",
"errorCode"}` makes that many following work requests end FAILED without applying their change;
`POST /_control/lb/{loadBalancerId}/stale-listener` with `{"listener", "stale": true}` keeps that listener's
live server presenting what it presents now whatever succeeds (an edge that lags behind the API);
`GET /_control/lb/work-requests/{workRequestId}` answers `{"lifecycleState"}` outside the API (no latency,
not recorded).
- A listener's SSL configuration names either an LB certificate bundle (`certificateName`) or one
  Certificates-service certificate (`certificateIds`, exactly one id, as OCI allows today) of the same region;
  it then serves that certificate's CURRENT version, and follows each new CURRENT version without a listener
  update (the Certificates emulator tells every LB backend when a version changes).
Not emulated: `trustedCertificateAuthorityIds`, custom cipher suites, backends and health, load balancer
create/delete (seed with `Backend.add_load_balancer`), the delay before a new CURRENT version reaches the
listeners (inject a lagging edge with the stale-listener control instead).

Files: `models` (bundles, listeners, what a listener serves), `backend` (one region's load balancers and
work requests), `handlers` (requests and routes).
"""
from .backend import Backend, LoadBalancer
from .handlers import CONTROL_ROUTES, ROUTES
from .models import LbState, StoredCertificate, parse, read_certificate

__all__ = ["CONTROL_ROUTES", "ROUTES", "Backend", "LbState", "LoadBalancer", "StoredCertificate", "parse",
           "read_certificate"]
