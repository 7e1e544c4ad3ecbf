"""OCI Certificates: management (`CertificatesManagementClient`) and retrieval (`CertificatesClient`).

Both APIs live under `/20210224` on different hosts in OCI; here they share one server and one Backend
per region. Only imported certificates (`configType = IMPORTED`) are supported: that is what certmgr
stores and what the expiry monitor reads. Everything shown about a version (validity, serial number,
subject, key and signature algorithm) is read from its PEM, as OCI does.

OCI's rules that a renewer meets, emulated:
- names are unique per compartment (409), whatever the other certificate's state;
- a new version of an imported certificate must carry the same extended key usages as the certificate
  (400 "The new extended key usages do not match the existing extended key usages"): since Let's Encrypt
  dropped clientAuth, a renewal of a certificate first imported with it is refused;
- a new version becomes LATEST and CURRENT (or PENDING); the old CURRENT becomes PREVIOUS, the old PREVIOUS
  DEPRECATED; only a DEPRECATED version can be scheduled for deletion (409 otherwise);
- mutations need the certificate ACTIVE (409 IncorrectState while CREATING / UPDATING, for
  `world.options["certificate_delay"]` seconds after a change);
- a certificate a load-balancer listener references cannot be scheduled for deletion (409).
Not emulated: certificate authorities and issued (`ISSUED_BY_INTERNAL_CA`) certificates, associations
as their own API, renewal rules, moving compartments, and the actual deletion at `timeOfDeletion`.

Files: `models` (state, read from PEMs), `backend` (one region's operations and rules), `handlers` (requests
and routes).
"""
from .backend import Backend
from .handlers import CONTROL_ROUTES, ROUTES
from .models import Certificate, Material, Version, parse_material

__all__ = ["CONTROL_ROUTES", "ROUTES", "Backend", "Certificate", "Material", "Version", "parse_material"]
