"""One place that builds OCI clients: the signer (resource principal or config file), the endpoint
override, and the caller's policy (its retries and request timeouts). Clients are created on first use and
live as long as the `Clients` object, i.e. one run. `together` makes independent calls at once, each thread
with clients of its own (`PerThread`)."""
from __future__ import annotations

import configparser
import functools
import importlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import oci

from ..errors import ConfigError, Problem
from .grants import Grants
from ..timing import DEFAULT, OciRetry

# The SDK's default circuit breaker is one per process, shared by every client: ten DNS errors would fail
# the Vault and LB calls (and the TXT clean-up) with CircuitBreakerError for 30 s, in this run and in the
# next invocations of a hot function. The retry policy already bounds what a run spends on a failing service.
NO_CIRCUIT_BREAKER = oci.circuit_breaker.NoCircuitBreakerStrategy()
INGESTION_TEMPLATE = "https://telemetry-ingestion.{region}.oci.{secondLevelDomain}"


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


def together(*calls: Callable) -> list:
    """Call each of `calls` in a thread of its own, all at once; their results, in order. Every call ends (each
    is bounded by its client's timeout and retries, within the run's deadline) before the first failure, in the
    calls' order, is raised: as if they had run one after another, only sooner."""
    if len(calls) == 1:
        return [calls[0]()]
    with ThreadPoolExecutor(len(calls), thread_name_prefix="certmgr-oci") as pool:
        futures = [pool.submit(call) for call in calls]
    return [future.result() for future in futures]


class PerThread:
    """A service's client for each thread that calls it, made on that thread's first call. The SDK does not
    promise that one client serves several threads at once: its team calls the clients "not entirely
    thread-safe" (oracle/oci-python-sdk#751), and a client replaces its one requests session after some
    answers, under the feet of a request another thread has in flight (oci/base_client.py)."""

    def __init__(self, make: Callable):
        self._make, self._local = make, threading.local()

    def __getattr__(self, name: str):
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._make()
        return getattr(client, name)


class _Service:
    """`clients.dns(region=None)` and the like: the run's client of one service in a region (the run's by
    default), made on first use. The service's SDK package is imported then, by name: a run imports only
    the services it calls, and with OCI_PYTHON_SDK_NO_SERVICE_IMPORTS=1 (the OCI CLI sets it; some images
    do, to import faster) the SDK would not load `oci.vault` and the like on first use."""

    def __init__(self, package: str, name: str):
        self.package, self.name = package, name

    def __get__(self, clients, owner=None):
        if clients is None:
            return self
        return functools.partial(clients._client, getattr(importlib.import_module(self.package), self.name))


class Clients:
    """OCI clients for one run.

    `endpoint` replaces every service's host (used against the sandbox); a `{region}` in it is filled in
    per region so one base URL can serve several emulated regions. `retry` is the run's retry strategy
    (`Policy.retry(deadline)`), so retries never wait past the run's deadline.
    """

    def __init__(self, *, resource_principal: bool, config_file: str | None = None,
                 profile: str = "DEFAULT", endpoint: str | None = None, region: str | None = None,
                 retry: OciRetry | None = None, grants: Grants | None = None):
        self.endpoint = endpoint
        self.retry = retry or DEFAULT.retry()
        self.grants = grants  # what a refused call lacks in this deployment (errors name it)
        self.resource_principal, self.config_file, self.profile = resource_principal, config_file, profile
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

    dns = _Service("oci.dns", "DnsClient")
    vaults = _Service("oci.vault", "VaultsClient")
    secrets = _Service("oci.secrets", "SecretsClient")
    load_balancer = _Service("oci.load_balancer", "LoadBalancerClient")
    certificates = _Service("oci.certificates", "CertificatesClient")
    certificates_management = _Service("oci.certificates_management", "CertificatesManagementClient")
    identity = _Service("oci.identity", "IdentityClient")
    search = _Service("oci.resource_search", "ResourceSearchClient")
    notifications = _Service("oci.ons", "NotificationDataPlaneClient")
    logging = _Service("oci.loggingingestion", "LoggingClient")
    kms_vaults = _Service("oci.key_management", "KmsVaultClient")
    apigateway = _Service("oci.apigateway", "ApiGatewayClient")
    email = _Service("oci.email_data_plane", "EmailDPClient")

    def monitoring(self, region: str | None = None):
        """Monitoring at its ingestion endpoint, where PostMetricData goes (the client's default host,
        telemetry.<region>, answers queries)."""
        region = region or self.region
        ingestion = None if self.endpoint else oci.regions.endpoint_for(  # the SDK's template, "telemetry" replaced
            "monitoring", region, service_endpoint_template=INGESTION_TEMPLATE)  # as PostMetricData's page says
        return self._client(importlib.import_module("oci.monitoring").MonitoringClient, region, ingestion)

    def kms_keys(self, management_endpoint: str):
        """The keys of one vault, read at its management endpoint (KMS has no regional one for keys)."""
        return self._client(importlib.import_module("oci.key_management").KmsManagementClient,
                            endpoint=management_endpoint)

    @classmethod
    def from_config(cls, config, retry: OciRetry | None = None) -> "Clients":
        return cls(resource_principal=config.auth == "resource_principal", config_file=config.oci_config_file,
                   profile=config.oci_profile, endpoint=config.oci_endpoint, region=config.region, retry=retry,
                   grants=Grants(config))

    def per_thread(self, service: str) -> PerThread:
        """`service`'s client (`clients.<service>()`), one for each thread that calls it (see `together`)."""
        return PerThread(functools.partial(getattr(self, service), fresh=True))

    def _client(self, cls, region: str | None = None, endpoint: str | None = None, fresh: bool = False):
        """The run's client of `cls` in `region`, made on first use; with `fresh`, a new one (see PerThread)."""
        region = region or self.region
        if fresh or (cls, region, endpoint) not in self._made:
            retry = self.retry if self.grants is None else \
                self.retry.explaining(functools.partial(self.grants.explain, region=region))
            kwargs = {"signer": self.signer, "retry_strategy": retry,
                      "timeout": self.retry.policy.oci_timeout,
                      "circuit_breaker_strategy": NO_CIRCUIT_BREAKER}
            if endpoint or self.endpoint:
                kwargs["service_endpoint"] = endpoint or self.endpoint.replace("{region}", region)
            client = cls(dict(self.config, region=region), **kwargs)
            if fresh:
                return client
            self._made[cls, region, endpoint] = client
        return self._made[cls, region, endpoint]
