"""The CA's ACME client for an account key (`connect`), shared by a run's order and by `check`, which also asks
whether the CA knows the key's account without creating one (`known_account`)."""
from __future__ import annotations

import josepy as jose
from acme import client, errors as acme_errors, messages
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..errors import AcmeError
from ..timing import Policy
from .acme_private import Network
from .directory import USER_AGENT


def _jwk(key) -> jose.JWK:
    return jose.JWKEC(key=key) if isinstance(key, ec.EllipticCurvePrivateKey) else jose.JWKRSA(key=key)


def _alg(key):
    if isinstance(key, rsa.RSAPrivateKey):
        return jose.RS256
    return {256: jose.ES256, 384: jose.ES384}[key.curve.key_size]


def connect(directory_url: str, account_key, *, ca_bundle: str | None, policy: Policy) -> client.ClientV2:
    """An ACME client of the CA at `directory_url`, signing with `account_key`."""
    net = Network(_jwk(account_key), alg=_alg(account_key), user_agent=USER_AGENT, verify_ssl=ca_bundle or True,
                  timeout=policy.acme_timeout)
    try:
        return client.ClientV2(client.ClientV2.get_directory(directory_url, net), net)
    except Exception as exc:  # requests errors, bad JSON: all mean "cannot use this directory"
        raise AcmeError(f"acme: cannot read the ACME directory {directory_url}: {type(exc).__name__}: {exc}",
                        hint="check CERTMGR_ACME_DIRECTORY (and CERTMGR_ACME_CA_BUNDLE for a private CA)") from None


def known_account(acme: client.ClientV2) -> str | None:
    """The URL of the CA's account for the client's key, asked without creating one (`onlyReturnExisting`, RFC
    8555 7.3.1); None when the CA has none."""
    try:
        return acme.new_account(messages.NewRegistration(only_return_existing=True)).uri
    except acme_errors.ConflictError as exc:  # 200 and the account's Location: it exists
        return exc.location
    except messages.Error as exc:
        if exc.code == "accountDoesNotExist":
            return None
        raise AcmeError(f"acme: asking the CA for the account failed: {exc.typ}: {exc.detail}") from None
