"""Request signatures as OCI checks them (draft-cavage HTTP signatures, rsa-sha256).

Two kinds of `keyId` are accepted: `tenancy/user/fingerprint` for API keys the sandbox generated, and
`ST$<jwt>` for resource-principal session tokens the sandbox minted (the token carries the session public
key in its `jwk` claim, as OCI's do, and is itself signed by the sandbox).
"""
from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import json
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .errors import NotAuthenticated

MAX_CLOCK_SKEW = dt.timedelta(minutes=5)
BODY_METHODS = ("POST", "PUT", "PATCH")
BODY_HEADERS = ("content-length", "content-type", "x-content-sha256")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem_private(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def fingerprint(public_key) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.md5(der).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


@dataclass
class ApiKey:
    tenancy: str
    user: str
    private_key: rsa.RSAPrivateKey

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.private_key.public_key())

    @property
    def key_id(self) -> str:
        return f"{self.tenancy}/{self.user}/{self.fingerprint}"


class Authenticator:
    """Knows the sandbox's API keys and token-signing key; verifies requests."""

    def __init__(self):
        self.api_keys: dict[str, ApiKey] = {}
        self._token_key = new_rsa_key()

    def add_api_key(self, key: ApiKey) -> None:
        self.api_keys[key.key_id] = key

    def mint_session_token(self, tenancy: str, compartment: str, lifetime: int = 3600):
        """A resource-principal session token and its session private key, as Fn hands a function."""
        session_key = new_rsa_key()
        numbers = session_key.public_key().public_numbers()
        jwk = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": "sandbox-session",
               "n": _b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
               "e": _b64url(numbers.e.to_bytes(3, "big"))}
        issued = int(time.time())
        claims = {"sub": "ocid1.fnfunc.oc1..sandbox", "iss": "authService.oracle.com", "iat": issued,
                  "exp": issued + lifetime, "res_tenant": tenancy, "res_compartment": compartment,
                  "res_type": "fnfunc", "ttype": "res", "jwk": json.dumps(jwk)}
        head = _b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "sandbox"}).encode())
        body = _b64url(json.dumps(claims).encode())
        signature = self._token_key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{head}.{body}.{_b64url(signature)}", session_key

    def _token_public_key(self, token: str):
        try:
            head, body, signature = token.split(".")
            self._token_key.public_key().verify(_unb64url(signature), f"{head}.{body}".encode(),
                                                padding.PKCS1v15(), hashes.SHA256())
            claims = json.loads(_unb64url(body))
        except (ValueError, InvalidSignature):
            raise NotAuthenticated("The session token is not valid") from None
        if claims.get("exp", 0) < time.time():
            raise NotAuthenticated("The session token has expired")
        jwk = json.loads(claims["jwk"])
        n = int.from_bytes(_unb64url(jwk["n"]), "big")
        e = int.from_bytes(_unb64url(jwk["e"]), "big")
        return rsa.RSAPublicNumbers(e, n).public_key(), f"resource:{claims['sub']}"

    def verify(self, method: str, target: str, headers: dict[str, str], body: bytes,
               now: float | None = None) -> str:
        """Check the request's signature; return the principal it was made by, or raise 401. `now` is the
        service's time (the world's option `clock_offset` moves it: a client whose clock is off)."""
        auth = headers.get("authorization", "")
        if not auth.startswith("Signature "):
            raise NotAuthenticated("The required information to complete authentication was not provided")
        fields = {}
        for part in auth[len("Signature "):].split(","):
            name, _, value = part.partition("=")
            fields[name.strip()] = value.strip().strip('"')
        if fields.get("algorithm") != "rsa-sha256":
            raise NotAuthenticated("Unsupported signature algorithm")
        signed = fields.get("headers", "date").split()
        required = ["(request-target)", "host"] + (list(BODY_HEADERS) if method in BODY_METHODS else [])
        missing = [h for h in required if h not in signed]
        if missing or not ({"date", "x-date"} & set(signed)):
            raise NotAuthenticated(f"Signature does not cover required headers: {missing or ['date']}")

        key_id = fields.get("keyId", "")
        if key_id.startswith("ST$"):
            public_key, principal = self._token_public_key(key_id[3:])
        elif key_id in self.api_keys:
            public_key, principal = self.api_keys[key_id].private_key.public_key(), key_id.split("/")[1]
        else:
            raise NotAuthenticated("The required information to complete authentication was not provided "
                                   "or was incorrect (unknown keyId)")

        lines = []
        for name in signed:
            if name == "(request-target)":
                lines.append(f"(request-target): {method.lower()} {target}")
            elif name in headers:
                lines.append(f"{name}: {headers[name]}")
            else:
                raise NotAuthenticated(f"Signed header {name!r} is missing from the request")
        try:
            public_key.verify(base64.b64decode(fields.get("signature", "")), "\n".join(lines).encode(),
                              padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            raise NotAuthenticated("The required information to complete authentication was not provided "
                                   "or was incorrect (signature mismatch)") from None

        date = headers.get("x-date") or headers.get("date", "")
        try:
            sent = email.utils.parsedate_to_datetime(date)
        except (TypeError, ValueError):
            raise NotAuthenticated(f"Unparseable date header {date!r}") from None
        service_time = dt.datetime.fromtimestamp(time.time() if now is None else now, dt.timezone.utc)
        if abs(service_time - sent) > MAX_CLOCK_SKEW:
            raise NotAuthenticated("Date header is outside the allowed clock skew of 5 minutes")
        if method in BODY_METHODS:
            digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
            if headers.get("x-content-sha256") != digest:
                raise NotAuthenticated("x-content-sha256 does not match the request body")
            if headers.get("content-length") != str(len(body)):
                raise NotAuthenticated("content-length does not match the request body")
        return principal
