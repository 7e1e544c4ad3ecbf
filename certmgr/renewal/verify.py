"""The proof of a deploy: what clients are served, seen in a real TLS handshake with each endpoint.

OCI saying a work request succeeded is not a certificate served. After a deploy, each endpoint in
CERTMGR_VERIFY_ENDPOINTS is asked for the primary name (SNI and hostname check), trusting the system's roots
and CERTMGR_VERIFY_CA_BUNDLE; the served leaf must carry the new serial. Listeners take a moment to pick a
change up, so the check is repeated, by the run's policy, until every endpoint serves it or the time given
runs out.
"""
from __future__ import annotations

import socket
import ssl

from cryptography import x509

from ..pki import same_serial
from ..errors import VerifyError
from ..timing import Deadline, Policy


def context(ca_bundle: str | None) -> ssl.SSLContext:
    trust = ssl.create_default_context()
    if ca_bundle:
        trust.load_verify_locations(cafile=ca_bundle)
    return trust


def served(endpoint: tuple[str, int], name: str, trust: ssl.SSLContext, timeout: float) -> str:
    """The serial (hex) the endpoint presents for `name`, or why no trusted certificate came back."""
    try:
        with socket.create_connection(endpoint, timeout=timeout) as raw:
            with trust.wrap_socket(raw, server_hostname=name) as tls:
                return format(x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number, "x")
    except ssl.SSLCertVerificationError as exc:
        return f"untrusted ({exc.verify_message})"
    except (OSError, ssl.SSLError) as exc:
        return f"no TLS ({type(exc).__name__}: {exc})"


def verify(endpoints, name: str, serial: str, trust: ssl.SSLContext, policy: Policy,
           deadline: Deadline) -> list[dict]:
    """Each endpoint with what it served last; VerifyError (with that report) when one still does not serve
    `serial` after `policy.verify_for` seconds or at the deadline."""
    report: list[dict] = []

    def waiting() -> str:
        return f"{sum(r['ok'] for r in report)} of {len(endpoints)} endpoints to serve {serial}"
    for _ in policy.polls(deadline.within(policy.verify_for), waiting=waiting):
        seen = {f"{host}:{port}": served((host, port), name, trust, policy.tls_timeout) for host, port in endpoints}
        report = [{"endpoint": e, "serial": s, "ok": same_serial(s, serial)} for e, s in seen.items()]
        if all(r["ok"] for r in report):
            return report
    wrong = [f"{r['endpoint']} serves {r['serial']}" for r in report if not r["ok"]]
    raise VerifyError(f"lb: the deploy reached OCI but not every client: {'; '.join(wrong)} "
                      f"(expected {serial} for {name})", report=report,
                      hint="check that CERTMGR_VERIFY_ENDPOINTS are the load balancer's listeners and that nothing "
                           "in front of them (a CDN, another balancer) serves an older certificate")
