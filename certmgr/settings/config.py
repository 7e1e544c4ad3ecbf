"""The renewer's and the monitor's settings: `Config.from_env` is the only code that reads the environment
(the tables of variables are in `renewer_variables.py` and `monitor_variables.py`, the parsers of values in
`parsers.py`, the rules for domain names in `names.py`).

Every variable is checked before anything else runs, and every problem is reported at once, naming the
variable, what is wrong and how to fix it: one failed run should be enough to fix a deployment.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .parsers import Invalid, Secret
from ..errors import ConfigError, Problem
from .monitor_variables import MonitorConfig
from .names import normalise_name  # noqa: F401 - part of this module's interface
from .renewer_variables import (ACME_DIRECTORIES, AUTH_CONFIG_FILE, AUTH_RESOURCE_PRINCIPAL,  # noqa: F401
                        DEFAULT_ACME_DIRECTORY, DEFAULT_KEY_TYPE, DEFAULT_MODE, DEFAULT_NAME_PREFIX,
                        DEFAULT_OCI_PROFILE, DEFAULT_PROPAGATION_TIMEOUT, DEFAULT_RENEWAL_DAYS, DEFAULT_RUN_BUDGET,
                        VARIABLES, read)


@dataclass(frozen=True)
class AcmeCa:
    """One ACME CA certmgr may order from, and the role of the Vault secret that keeps its account key."""

    role: str                       # "primary" or "fallback"
    directory: str
    ca_bundle: str | None = None
    eab_kid: str | None = None
    eab_hmac_key: Secret | None = field(default=None, repr=False)
    account_key: str = "account_key"

    @property
    def variable(self) -> str:
        """The setting that names this CA."""
        return "CERTMGR_ACME_FALLBACK_DIRECTORY" if self.role == "fallback" else "CERTMGR_ACME_DIRECTORY"


@dataclass(frozen=True)
class Config:
    """certmgr's settings, validated. Build it with `Config.from_env()`.

    Renewal (`None` / empty only when `mode == "monitor"`, where they are optional):
      domains          tuple[str, ...]  CERTMGR_DOMAIN: lower case, punycode, no trailing dot; first is primary;
                                        `*.` allowed as the leftmost label
      dns_zone_ids     tuple[str]       CERTMGR_DNS_ZONE_ID: one zone OCID or several, comma-separated
      acme_email       str              CERTMGR_ACME_EMAIL
      lb_id            str              CERTMGR_LB_ID
      vault_id         str              CERTMGR_VAULT_ID
      vault_key_id     str              CERTMGR_VAULT_KEY_ID
      compartment_id   str              CERTMGR_COMPARTMENT_ID
    With defaults:
      renewal_days        int           CERTMGR_RENEWAL_DAYS (7..60, 30)
      name_prefix         str           CERTMGR_NAME_PREFIX ("tmi")
      metrics             bool          CERTMGR_METRICS (false): figures posted to OCI Monitoring
      fleet_prefix        str | None    CERTMGR_FLEET_PREFIX: the Terraform fleet's prefix (its policies' names)
      acme_directory      str           CERTMGR_ACME_DIRECTORY, always a URL (Let's Encrypt staging)
      dry_run             bool          CERTMGR_DRY_RUN (False)
      lb_listeners        tuple[str]    CERTMGR_LB_LISTENERS (() = every listener with an SSL configuration)
      key_type            str           CERTMGR_KEY_TYPE, one of certs.KEY_TYPES ("ecdsa-p256")
      acme_ca_bundle      str | None    CERTMGR_ACME_CA_BUNDLE: path of a PEM file that exists and parses
      acme_eab_kid        str | None    CERTMGR_ACME_EAB_KID   (set together with the HMAC key, or neither)
      acme_eab_hmac_key   Secret | None CERTMGR_ACME_EAB_HMAC_KEY, base64url text; `.reveal()` it
      acme_fallback_*                   CERTMGR_ACME_FALLBACK_DIRECTORY, _CA_BUNDLE, _EAB_KID, _EAB_HMAC_KEY
      dns_nameservers     tuple[tuple[str, int], ...]  CERTMGR_DNS_NAMESERVERS as (ip, port); () = the zone's
      propagation_timeout int           CERTMGR_PROPAGATION_TIMEOUT seconds (10..3600, 120)
      run_budget          int           CERTMGR_RUN_BUDGET seconds (10..3600, 280): every wait of a run ends by then
      certificate_name    str | None    CERTMGR_CERTIFICATE_NAME: deploy through the Certificates service as this
                                        certificate (in compartment_id); None = upload LB certificate bundles
      verify_endpoints    tuple[tuple[str, int], ...]  CERTMGR_VERIFY_ENDPOINTS host:port; () = no check
      verify_ca_bundle    str | None    CERTMGR_VERIFY_CA_BUNDLE: extra roots for that check (a PEM file)
      oci_endpoint        str | None    CERTMGR_OCI_ENDPOINT, may hold `{region}`; no trailing slash
      acme_profile        str | None    CERTMGR_ACME_PROFILE
      mode                str           CERTMGR_MODE: "renew" or "monitor"
      oci_profile         str           CERTMGR_OCI_PROFILE ("DEFAULT")
      region              str | None    CERTMGR_REGION (None = the signer's or config file's region)
    Monitor mode:
      monitor             MonitorConfig | None  the CERTMGR_MONITOR_* settings (None in renew mode)
    Derived from OCI_* variables:
      auth                str           "resource_principal" when OCI_RESOURCE_PRINCIPAL_VERSION is set,
                                        else "config_file"
      oci_config_file     str | None    OCI_CONFIG_FILE, else OCI_CLI_CONFIG_FILE; None = ~/.oci/config
    And:
      warnings            tuple[str]    things that look wrong but may be intended; report them
    """

    domains: tuple[str, ...]
    dns_zone_ids: tuple[str, ...]
    acme_email: str | None
    lb_id: str | None
    vault_id: str | None
    vault_key_id: str | None
    compartment_id: str | None
    renewal_days: int = DEFAULT_RENEWAL_DAYS
    name_prefix: str = DEFAULT_NAME_PREFIX
    acme_directory: str = DEFAULT_ACME_DIRECTORY
    dry_run: bool = False
    lb_listeners: tuple[str, ...] = ()
    key_type: str = DEFAULT_KEY_TYPE
    acme_ca_bundle: str | None = None
    acme_eab_kid: str | None = None
    acme_eab_hmac_key: Secret | None = None
    acme_fallback_directory: str | None = None
    acme_fallback_ca_bundle: str | None = None
    acme_fallback_eab_kid: str | None = None
    acme_fallback_eab_hmac_key: Secret | None = None
    dns_nameservers: tuple[tuple[str, int], ...] = ()
    propagation_timeout: int = DEFAULT_PROPAGATION_TIMEOUT
    run_budget: int = DEFAULT_RUN_BUDGET
    certificate_name: str | None = None
    verify_endpoints: tuple[tuple[str, int], ...] = ()
    verify_ca_bundle: str | None = None
    oci_endpoint: str | None = None
    acme_profile: str | None = None
    mode: str = DEFAULT_MODE
    oci_profile: str = DEFAULT_OCI_PROFILE
    region: str | None = None
    auth: str = AUTH_CONFIG_FILE
    oci_config_file: str | None = None
    metrics: bool = False
    fleet_prefix: str | None = None
    monitor: MonitorConfig | None = None
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self):
        """Refuse a Config that breaks a rule the code relies on, however it was built (see `rules`)."""
        problems = rules(self)
        if problems:
            raise ConfigError(problems)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Config":
        """Read and check every variable; raise one ConfigError listing every problem found."""
        return cls(**read(env))

    @property
    def dns_zone_id(self) -> str | None:
        """The first zone: the one named in messages when there is only one."""
        return self.dns_zone_ids[0] if self.dns_zone_ids else None

    @property
    def primary_name(self) -> str | None:
        return self.domains[0] if self.domains else None

    @property
    def secret_names(self) -> dict[str, str]:
        """Vault secret name by role. The certificate set shares one prefix so a vault can hold several."""
        p = self.name_prefix
        return {"certificate": f"{p}-certificate", "private_key": f"{p}-private-key", "chain": f"{p}-chain",
                "account_key": f"{p}-acme-account-key", "fallback_account_key": f"{p}-acme-fallback-account-key"}

    @property
    def kept_secrets(self) -> tuple[str, ...]:
        """The secrets a renewer keeps: the certificate set, each CA's account key, and the run lock."""
        names = self.secret_names
        return (names["certificate"], names["private_key"], names["chain"],
                *(names[ca.account_key] for ca in self.cas), self.lock_name)

    @property
    def cas(self) -> tuple["AcmeCa", ...]:
        """The ACME CAs to order from, the primary first, then the fallback when one is set."""
        primary = AcmeCa("primary", self.acme_directory, self.acme_ca_bundle, self.acme_eab_kid,
                         self.acme_eab_hmac_key, "account_key")
        if not self.acme_fallback_directory:
            return (primary,)
        return primary, AcmeCa("fallback", self.acme_fallback_directory, self.acme_fallback_ca_bundle,
                               self.acme_fallback_eab_kid, self.acme_fallback_eab_hmac_key, "fallback_account_key")

    @property
    def verify_name(self) -> str:
        """The name a post-deploy check asks for (SNI, hostname check): the primary name, or a name the
        primary wildcard covers."""
        plain = [n for n in self.domains if not n.startswith("*.")]
        return plain[0] if plain else "www." + self.domains[0].removeprefix("*.")

    def order_key(self, ca: "AcmeCa") -> str:
        """What an order asks `ca` for, as a short digest: the CA, the names, the contact, the profile and the
        account binding. A backoff after a refused order holds back only an order with the same key, so
        fixing the variable the CA refused (the fallback CA's own included) lets the next run order at once."""
        asked = "\n".join([ca.directory, ",".join(self.domains), self.acme_email or "",
                           self.acme_profile or "", ca.eab_kid or ""])
        return hashlib.sha256(asked.encode()).hexdigest()[:16]

    @property
    def lock_name(self) -> str:
        """The run lock's secret, which also keeps what one run leaves the next (see cloud/lock.py)."""
        return f"{self.name_prefix}-lock"

    def lb_certificate_name(self, serial_hex: str, not_before: dt.datetime) -> str:
        """The LB certificate name for one certificate: a function of the certificate alone, so a rerun
        after an interrupted deploy finds the upload it already made instead of adding another."""
        return f"{self.name_prefix}-{serial_hex.lower()[:16]}-{not_before:%Y%m%d}"

    @staticmethod
    def lb_certificate_deployment(name: str | None) -> str | None:
        """The CERTMGR_NAME_PREFIX of the certmgr deployment whose LB certificate name this is, if any."""
        found = re.fullmatch(r"([A-Za-z][A-Za-z0-9-]*)-[0-9a-f]{1,16}-[0-9]{8}", name or "")
        return found.group(1) if found else None

    def owns_lb_certificate(self, name: str) -> bool:
        """Whether `name` is one of this deployment's LB certificate names: exactly, so that prefix `tmi`
        never claims the certificates of a deployment with prefix `tmi-b`."""
        return re.fullmatch(re.escape(self.name_prefix) + r"-[0-9a-f]{1,16}-[0-9]{8}", name) is not None


def rules(config: "Config") -> list[Problem]:
    """What a Config must hold whoever built it (`read`, by hand, `dataclasses.replace`): the rules the rest
    of the code relies on, each named by its variable. The ranges above are for operators; here a duration
    need only be positive, so tests may run on budgets of seconds."""
    by_field, problems = {var.field: var for var in VARIABLES}, []

    def refuse(name: str, problem: str) -> None:
        problems.append(Problem(by_field[name].env, problem, f"set it to {by_field[name].wants}"))

    for name in ("mode", "domains", "name_prefix", "key_type"):  # must read back through their own parsers
        value = getattr(config, name)
        text = ",".join(value) if isinstance(value, tuple) else value
        try:
            same = not value and name == "domains" or by_field[name].parse(text) == value
        except Invalid:
            same = False
        if not same:
            refuse(name, f"{value!r} is not a value it accepts as it is")
    for name in ("renewal_days", "propagation_timeout", "run_budget"):
        if type(getattr(config, name)) is not int or getattr(config, name) <= 0:
            refuse(name, f"{getattr(config, name)!r} is not a positive whole number")
    for var in VARIABLES if config.mode == "renew" else ():
        if var.required and not getattr(config, var.field):
            refuse(var.field, "is not set")
    if (config.mode == "monitor") != (config.monitor is not None):
        refuse("mode", f"is {config.mode!r}, but the monitor's settings are "
               f"{'missing' if config.monitor is None else 'given'}: build the Config with Config.from_env")
    if (config.acme_eab_kid is None) != (config.acme_eab_hmac_key is None):
        refuse("acme_eab_kid", "and CERTMGR_ACME_EAB_HMAC_KEY are not given together")
    if (config.acme_fallback_eab_kid is None) != (config.acme_fallback_eab_hmac_key is None):
        refuse("acme_fallback_eab_kid", "and CERTMGR_ACME_FALLBACK_EAB_HMAC_KEY are not given together")
    if config.metrics and not config.compartment_id:
        problems.append(Problem("CERTMGR_COMPARTMENT_ID", "is not set, but CERTMGR_METRICS is true: metrics are "
                                "posted in that compartment", "set it, or set CERTMGR_METRICS to false"))
    if config.auth not in (AUTH_RESOURCE_PRINCIPAL, AUTH_CONFIG_FILE):
        problems.append(Problem("OCI_RESOURCE_PRINCIPAL_VERSION", f"auth {config.auth!r} is neither way of "
                                f"signing", f"use {AUTH_RESOURCE_PRINCIPAL!r} or {AUTH_CONFIG_FILE!r}"))
    return problems
