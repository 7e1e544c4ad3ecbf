"""ACME Renewal Information (RFC 9773): the CA's suggested renewal window for a certificate.

ARI is a plain GET that needs no account, so it is done here with the standard library and `cryptography`:
a daily run that has nothing to do never loads the ACME client.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import ssl
import urllib.error
import urllib.request

from cryptography import x509

from .errors import AcmeError

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


def _get_json(url: str, context: ssl.SSLContext, timeout: float) -> dict:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
    with urllib.request.urlopen(request, context=context, timeout=timeout) as reply:
        return json.loads(reply.read())


def _problem(exc: Exception) -> str:
    """An ACME problem document's type and detail when the CA sent one, else the error itself."""
    if isinstance(exc, urllib.error.HTTPError):
        try:
            problem = json.loads(exc.read())
            return f"{problem.get('type')}: {problem.get('detail')}"
        except ValueError:
            return f"HTTP {exc.code} {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def ari_window(directory_url: str, cert_pem: bytes, *, ca_bundle: str | None = None,
               timeout: float = 10) -> tuple[dt.datetime, dt.datetime] | None:
    """The CA's suggested renewal window for `cert_pem`, or None when the CA has no ARI.

    Raises AcmeError when the directory or the renewal info cannot be read."""
    context = ssl.create_default_context(cafile=ca_bundle)
    try:
        directory = _get_json(directory_url, context, timeout)
    except (OSError, ValueError) as exc:
        raise AcmeError(f"acme: cannot read the ACME directory {directory_url}: {_problem(exc)}",
                        hint="check CERTMGR_ACME_DIRECTORY (and CERTMGR_ACME_CA_BUNDLE for a private CA)") from None
    if "renewalInfo" not in directory:
        return None
    url = directory["renewalInfo"].rstrip("/") + "/" + cert_id(cert_pem)
    try:
        window = _get_json(url, context, timeout)["suggestedWindow"]
        return _time(window["start"]), _time(window["end"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AcmeError(f"acme: cannot read renewal info {url}: {_problem(exc)}") from None
