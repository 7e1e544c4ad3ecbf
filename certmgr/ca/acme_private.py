"""Every use of a private part of certbot's `acme` package, in one place, so that upgrading `acme` is one
file's review. Written for acme 5.9 (requirements.txt pins it); each part says why the public API does not do.

- `Network` overrides `ClientNetwork._post_once` / `_check_response`: acme retries a rejected nonce once
  (CAs reject nonces at random, and the reply carries a fresh one), and drops the response headers of a
  refusal, where the CA's Retry-After is (rate limits).
- `post` is `ClientV2._post`: `new_order` cannot send ARI's `replaces` (RFC 9773) nor a profile together
  with our identifiers, so certmgr posts its own NewOrder body.
- `post_as_get` and `authorization` are `ClientV2._post_as_get` / `_authzr_from_response`: polling an order
  and its authorizations by the run's policy and the CA's Retry-After, where `poll_and_finalize` sleeps a fixed
  second first and ignores Retry-After.
"""
from __future__ import annotations

from acme import client, messages

from ..timing import retry_after

NONCE_ATTEMPTS = 8  # the reply to a rejected nonce carries a fresh one, so a retry costs one request


class Network(client.ClientNetwork):
    """`acme`'s network, remembering the Retry-After of the last refused request, and retrying a rejected
    nonce up to NONCE_ATTEMPTS times."""

    retry_after: float | None = None

    def post(self, *args, **kwargs):
        for attempt in range(1, NONCE_ATTEMPTS + 1):
            try:
                return self._post_once(*args, **kwargs)
            except messages.Error as error:
                if error.code != "badNonce" or attempt == NONCE_ATTEMPTS:
                    raise

    def _check_response(self, response, content_type=None):
        self.retry_after = None if response.ok else retry_after(response.headers)
        return super()._check_response(response, content_type=content_type)


def post(acme: client.ClientV2, url: str, body):
    return acme._post(url, body)


def post_as_get(acme: client.ClientV2, url: str):
    return acme._post_as_get(url)


def authorization(acme: client.ClientV2, url: str) -> messages.AuthorizationResource:
    return acme._authzr_from_response(acme._post_as_get(url), uri=url)
