"""One place that builds OCI clients: the signer (resource principal or config file), the endpoint
override, the caller's retry policy and the timeouts. Clients are created on first use and live as long as
the `Clients` object, i.e. one run."""
from __future__ import annotations

import configparser
import os

import oci

from .errors import ConfigError, Problem
from .policy import DEFAULT, OciRetry

TIMEOUT = (10, 60)  # connect, read (seconds)
# The SDK's default circuit breaker is one per process, shared by every client: ten DNS errors would fail
# the Vault and LB calls (and the TXT clean-up) with CircuitBreakerError for 30 s, in this run and in the
# next invocations of a hot function. The retry policy already bounds what a run spends on a failing service.
NO_CIRCUIT_BREAKER = oci.circuit_breaker.NoCircuitBreakerStrategy()


_SIGNER_KEYS = ("tenancy", "user", "fingerprint", "key_file", "pass_phrase", "key_content")
_last_signer: tuple = (None, None)


def _api_key_signer(config: dict) -> oci.signer.Signer:
    """The config file's API-key signer, loaded once per key file version.

    cryptography checks an RSA private key as it loads it (about 50 ms of CPU for 2048 bits), which a
    process running certmgr several times (a loop, a test suite) would pay on every run. One signer is
    kept, keyed on the settings and the key file's change time, so nothing accumulates and a replaced key
    is read again."""
    global _last_signer
    try:
        stamp = os.stat(os.path.expanduser(config["key_file"])).st_mtime_ns if config.get("key_file") else None
    except OSError:
        stamp = None  # the SDK says what is wrong with the path
    key = (tuple(config.get(k) for k in _SIGNER_KEYS), stamp)
    if stamp is None or _last_signer[0] != key:
        _last_signer = (key, oci.signer.Signer.from_config(config))
    return _last_signer[1]


def all_items(list_call, *args, **kwargs) -> list:
    """Every item of a paginated list call, each page one call under the client's retry policy.

    Not `oci.pagination`: it wraps every page in the SDK's default retry strategy (8 attempts over up to
    600 s, around the client's own), which would multiply the attempts and ignore the run's deadline."""
    items, page = [], None
    while True:
        response = list_call(*args, **kwargs, **({"page": page} if page else {}))
        data = response.data
        items += data if isinstance(data, list) else data.items
        page = response.next_page
        if not page:
            return items


class Clients:
    """OCI clients for one run.

    `endpoint` replaces every service's host (used against the sandbox); a `{region}` in it is filled in
    per region so one base URL can serve several emulated regions. `retry` is the run's retry strategy
    (`Policy.retry(deadline)`), so retries never wait past the run's deadline.
    """

    def __init__(self, *, resource_principal: bool, config_file: str | None = None,
                 profile: str = "DEFAULT", endpoint: str | None = None, region: str | None = None,
                 retry: OciRetry | None = None):
        self.endpoint = endpoint
        self.retry = retry or DEFAULT.retry()
        self._made: dict = {}
        if resource_principal:
            try:
                self.signer = oci.auth.signers.get_resource_principals_signer()
            except Exception as exc:  # the SDK raises several kinds; all mean "this is no function's identity"
                raise ConfigError([Problem("OCI_RESOURCE_PRINCIPAL_VERSION", f"the resource principal cannot be "
                                           f"loaded: {type(exc).__name__}: {exc}", "run as an OCI Function, or "
                                           "unset it to use an OCI config file")]) from None
            self.config = {"region": region or self.signer.region}
        else:
            path = config_file or os.path.expanduser(oci.config.DEFAULT_LOCATION)
            try:
                self.config = oci.config.from_file(path, profile)
                if region:
                    self.config["region"] = region
                self.signer = _api_key_signer(self.config)
            except (oci.exceptions.ClientError, OSError, ValueError, configparser.Error) as exc:
                raise ConfigError([Problem("OCI_CONFIG_FILE", f"{path} (profile {profile}) cannot be used: "
                                           f"{type(exc).__name__}: {str(exc).split(', please')[0]}",
                                           "point OCI_CONFIG_FILE at a valid OCI CLI config file (`oci setup "
                                           "config`), or set CERTMGR_OCI_PROFILE")]) from None
        self.region = self.config["region"]
        self.tenancy_id = self.config.get("tenancy") or getattr(self.signer, "tenancy_id", None)

    @classmethod
    def from_config(cls, config, retry: OciRetry | None = None) -> "Clients":
        return cls(resource_principal=config.auth == "resource_principal", config_file=config.oci_config_file,
                   profile=config.oci_profile, endpoint=config.oci_endpoint, region=config.region, retry=retry)

    def _client(self, cls, region: str | None):
        region = region or self.region
        if (cls, region) not in self._made:
            kwargs = {"signer": self.signer, "retry_strategy": self.retry, "timeout": TIMEOUT,
                      "circuit_breaker_strategy": NO_CIRCUIT_BREAKER}
            if self.endpoint:
                kwargs["service_endpoint"] = self.endpoint.replace("{region}", region)
            self._made[cls, region] = cls(dict(self.config, region=region), **kwargs)
        return self._made[cls, region]

    def dns(self, region=None) -> oci.dns.DnsClient:
        return self._client(oci.dns.DnsClient, region)

    def vaults(self, region=None) -> oci.vault.VaultsClient:
        return self._client(oci.vault.VaultsClient, region)

    def secrets(self, region=None) -> oci.secrets.SecretsClient:
        return self._client(oci.secrets.SecretsClient, region)

    def load_balancer(self, region=None) -> oci.load_balancer.LoadBalancerClient:
        return self._client(oci.load_balancer.LoadBalancerClient, region)

    def certificates(self, region=None) -> oci.certificates.CertificatesClient:
        return self._client(oci.certificates.CertificatesClient, region)

    def certificates_management(self, region=None) -> oci.certificates_management.CertificatesManagementClient:
        return self._client(oci.certificates_management.CertificatesManagementClient, region)

    def identity(self, region=None) -> oci.identity.IdentityClient:
        return self._client(oci.identity.IdentityClient, region)

    def search(self, region=None) -> oci.resource_search.ResourceSearchClient:
        return self._client(oci.resource_search.ResourceSearchClient, region)

    def notifications(self, region=None) -> oci.ons.NotificationDataPlaneClient:
        return self._client(oci.ons.NotificationDataPlaneClient, region)

    def logging(self, region=None) -> oci.loggingingestion.LoggingClient:
        return self._client(oci.loggingingestion.LoggingClient, region)
