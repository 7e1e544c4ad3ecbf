"""What the CA says without an account: its directory (profiles offered) and its ACME Renewal Information
(RFC 9773), the suggested renewal window for a certificate.

Both are plain GETs, done here with the standard library and `cryptography`, so a daily run that has nothing
to do never loads the ACME client, and a run that must order learns that the CA is unreachable, or lacks the
profile asked for, before it takes the lock or writes anything.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import ssl
import urllib.error
import urllib.request

from cryptography import x509

from ..errors import AcmeError

USER_AGENT = "certmgr (+acme-python)"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def cert_id(cert_pem: bytes) -> str:
    """The certificate's ARI identifier (also a new order's `replaces`): the base64url of its authority key
    identifier, a dot, and the base64url of its serial as a DER INTEGER (big-endian, signed)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    key_id = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    serial = cert.serial_number
    return f"{_b64(key_id)}.{_b64(serial.to_bytes((serial.bit_length() + 8) // 8, 'big', signed=True))}"


def _get_json(url: str, context: ssl.SSLContext, timeout: float, headers: dict | None = None) -> dict:
    """The JSON at `url`; the reply's headers go into `headers` when given."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
    with urllib.request.urlopen(request, context=context, timeout=timeout) as reply:
        if headers is not None:
            headers.update((k.lower(), v) for k, v in reply.headers.items())
        return json.loads(reply.read())


def _problem(exc: Exception) -> str:
    """An ACME problem document's type and detail when the CA sent one, else the error itself."""
    if isinstance(exc, urllib.error.HTTPError):
        try:
            problem = json.loads(exc.read())
            return f"{problem.get('type')}: {problem.get('detail')}"
        except ValueError:
            return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        return getattr(reason, "strerror", None) or str(reason)  # "Connection refused", not the urllib wrapping
    return f"{type(exc).__name__}: {exc}"


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def read_directory(directory_url: str, *, ca_bundle: str | None = None, timeout: float,
                   headers: dict | None = None) -> dict:
    """The CA's directory object (its reply's headers into `headers`, when given); AcmeError when it cannot be
    read."""
    try:
        directory = _get_json(directory_url, ssl.create_default_context(cafile=ca_bundle), timeout, headers)
        if not isinstance(directory, dict) or "newOrder" not in directory:
            raise ValueError("not an ACME directory (no newOrder)")
        return directory
    except (OSError, ValueError) as exc:
        raise AcmeError(f"acme: cannot read the ACME directory {directory_url}: {_problem(exc)}",
                        hint="check CERTMGR_ACME_DIRECTORY (and CERTMGR_ACME_CA_BUNDLE for a private CA)") from None


def caa_identities(directory: dict | None) -> tuple[str, ...]:
    """The domains CAA records name the CA by (RFC 8555 7.1.1 meta.caaIdentities); empty when it lists none."""
    found = ((directory or {}).get("meta") or {}).get("caaIdentities")
    return tuple(i for i in found if isinstance(i, str)) if isinstance(found, list) else ()


def profiles(directory: dict) -> dict:
    """The certificate profiles the CA offers (name: description); empty when it offers none."""
    offered = (directory.get("meta") or {}).get("profiles")
    return offered if isinstance(offered, dict) else {}


def ari_window(directory: dict, cert_pem: bytes, *, ca_bundle: str | None = None,
               timeout: float) -> tuple[dt.datetime, dt.datetime] | None:
    """The CA's suggested renewal window for `cert_pem`, or None when the CA has no ARI.

    Raises AcmeError when the renewal info cannot be read."""
    context = ssl.create_default_context(cafile=ca_bundle)
    if "renewalInfo" not in directory:
        return None
    url = directory["renewalInfo"].rstrip("/") + "/" + cert_id(cert_pem)
    try:
        window = _get_json(url, context, timeout)["suggestedWindow"]
        return _time(window["start"]), _time(window["end"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AcmeError(f"acme: cannot read renewal info {url}: {_problem(exc)}") from None
