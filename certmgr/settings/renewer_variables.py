"""The renewer's variable table: each CERTMGR_* variable, its parser, default, and what a good value is; and
`read`, which checks every one and reports every problem at once, naming the variable and how to fix it.
`Config.from_env` builds the Config from what `read` returns."""
from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Mapping

from .. import pki
from .parsers import (Invalid, boolean, ca_bundle, domains, email, endpoint, endpoints, hmac_key, int_in, items,
                       nameservers, ocid, ocids, region, text, url)
from ..errors import ConfigError, Problem
from ..timing import DEFAULT
from .monitor_variables import MONITOR_PREFIX, read_monitor

DEFAULT_RENEWAL_DAYS = 30
RENEWAL_DAYS_RANGE = (7, 60)
DEFAULT_PROPAGATION_TIMEOUT = 120  # seconds: leaves room for the rest of a run inside Fn's 300 s limit
PROPAGATION_TIMEOUT_RANGE = (10, 3600)
DEFAULT_RUN_BUDGET = 280  # seconds: inside Fn's 300 s limit, with room for the TXT clean-up after it
# An order needs the shortest propagation wait and the reserve kept after it (validation, finalization, Vault,
# LB): a smaller budget could never renew. Detached invocations may run up to an hour.
RUN_BUDGET_RANGE = (int(DEFAULT.min_propagation_wait + DEFAULT.after_propagation), 3600)
DEFAULT_NAME_PREFIX = "tmi"
NAME_PREFIX_MAX = 32
ACME_DIRECTORIES = {
    "staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
    "production": "https://acme-v02.api.letsencrypt.org/directory",
}
DEFAULT_ACME_DIRECTORY = ACME_DIRECTORIES["staging"]  # a typo must not burn production rate limits
DEFAULT_KEY_TYPE = pki.DEFAULT_KEY_TYPE
MODES = ("renew", "monitor")
DEFAULT_MODE = "renew"
DEFAULT_OCI_PROFILE = "DEFAULT"
AUTH_RESOURCE_PRINCIPAL = "resource_principal"
AUTH_CONFIG_FILE = "config_file"


_PREFIX = re.compile(rf"^[A-Za-z][A-Za-z0-9-]{{0,{NAME_PREFIX_MAX - 1}}}$")
_PROFILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _prefix(text: str) -> str:
    if not _PREFIX.match(text):
        raise Invalid(f"{text!r} is not 1-{NAME_PREFIX_MAX} letters, digits or '-' starting with a letter")
    return text


def _directory(text: str) -> str:
    shorthand = ACME_DIRECTORIES.get(text.lower())
    if shorthand:
        return shorthand
    try:
        return url(text)
    except Invalid:
        raise Invalid(f"{text!r} is neither 'staging', 'production' nor an http(s) URL") from None


def _listeners(text: str) -> tuple[str, ...]:
    names = items(text)
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise Invalid(f"{', '.join(twice)} listed twice")
    return tuple(names)


def _key_type(text: str) -> str:
    if text.lower() not in pki.KEY_TYPES:
        raise Invalid(f"{text!r} is not a supported key type")
    return text.lower()


def _certificate_name(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,240}", text):
        raise Invalid(f"{text!r} is not a Certificates-service certificate name")
    return text


def _profile(text: str) -> str:
    if not _PROFILE.match(text):
        raise Invalid(f"{text!r} is not a profile name (letters, digits, '.', '_', '-')")
    return text


def _mode(text: str) -> str:
    if text.lower() not in MODES:
        raise Invalid(f"{text!r} is not a mode")
    return text.lower()


def _oci_profile(text: str) -> str:
    if any(c in text for c in "[]") or any(c.isspace() for c in text):
        raise Invalid(f"{text!r} is not a config file profile name")
    return text


@dataclasses.dataclass(frozen=True)
class _Var:
    env: str
    field: str
    parse: Callable[[str], object]
    wants: str                  # what a good value is; ends every message about this variable
    default: object = None
    required: bool = False      # in renew mode
    secret: bool = False        # its value never appears in a message
    kinds: tuple[str, ...] = ()  # for OCIDs: the resource types expected; others are accepted with a warning


# How to reach a CA: the primary's variables, and the fallback's of the same kinds (_for_fallback).
_CA_ACCESS = (
    _Var("CERTMGR_ACME_CA_BUNDLE", "acme_ca_bundle", ca_bundle,
         "the path of a PEM file with the CA certificates that sign the ACME server's TLS certificate"),
    _Var("CERTMGR_ACME_EAB_KID", "acme_eab_kid", text, "the external account binding key id from your CA"),
    _Var("CERTMGR_ACME_EAB_HMAC_KEY", "acme_eab_hmac_key", hmac_key,
         "the external account binding HMAC key from your CA (base64url)", secret=True),
)


def _for_fallback(var: _Var) -> _Var:
    """The fallback CA's variable of the same kind as the primary's `var` (CA bundle, EAB key id and key)."""
    return dataclasses.replace(var, env=var.env.replace("CERTMGR_ACME_", "CERTMGR_ACME_FALLBACK_"),
                               field=var.field.replace("acme_", "acme_fallback_"),
                               wants=f"{var.wants}, for the fallback CA")


VARIABLES = (
    _Var("CERTMGR_MODE", "mode", _mode, f"one of {', '.join(MODES)} (default {DEFAULT_MODE})", DEFAULT_MODE),
    _Var("CERTMGR_DOMAIN", "domains", domains,
         "the certificate's DNS names, comma-separated, primary first (e.g. example.com,*.example.com)", (),
         required=True),
    _Var("CERTMGR_DNS_ZONE_ID", "dns_zone_ids", ocids,
         "the OCID of the OCI DNS zone holding the names (ocid1.dns-zone.oc1..<unique id>), or several, "
         "comma-separated, when the names (or their CNAME'd _acme-challenge) are in several zones", required=True,
         kinds=("dns-zone", "dnszone")),
    _Var("CERTMGR_ACME_EMAIL", "acme_email", email,
         "the ACME account's contact e-mail address (e.g. admin@example.com)", required=True),
    _Var("CERTMGR_LB_ID", "lb_id", ocid,
         "the OCID of the load balancer (ocid1.loadbalancer.oc1.<region>.<unique id>)", required=True,
         kinds=("loadbalancer",)),
    _Var("CERTMGR_VAULT_ID", "vault_id", ocid,
         "the OCID of the vault for the certificate's secrets (ocid1.vault.oc1.<region>.<unique id>)",
         required=True, kinds=("vault",)),
    _Var("CERTMGR_VAULT_KEY_ID", "vault_key_id", ocid,
         "the OCID of the vault's master encryption key (ocid1.key.oc1.<region>.<unique id>)", required=True,
         kinds=("key",)),
    _Var("CERTMGR_COMPARTMENT_ID", "compartment_id", ocid,
         "the OCID of the compartment for the secrets (ocid1.compartment.oc1..<unique id>)", required=True,
         kinds=("compartment", "tenancy")),
    _Var("CERTMGR_RENEWAL_DAYS", "renewal_days", int_in(*RENEWAL_DAYS_RANGE, "days"),
         f"a whole number of days before expiry, {RENEWAL_DAYS_RANGE[0]} to {RENEWAL_DAYS_RANGE[1]} "
         f"(default {DEFAULT_RENEWAL_DAYS})", DEFAULT_RENEWAL_DAYS),
    _Var("CERTMGR_NAME_PREFIX", "name_prefix", _prefix,
         f"1 to {NAME_PREFIX_MAX} letters, digits or '-', starting with a letter (default {DEFAULT_NAME_PREFIX});"
         f" it begins every secret and LB certificate name", DEFAULT_NAME_PREFIX),
    _Var("CERTMGR_ACME_DIRECTORY", "acme_directory", _directory,
         "'staging', 'production' (Let's Encrypt) or the full URL of an ACME directory (default staging)",
         DEFAULT_ACME_DIRECTORY),
    _Var("CERTMGR_DRY_RUN", "dry_run", boolean, "true or false (also 1/0, yes/no; default false)", False),
    _Var("CERTMGR_LB_LISTENERS", "lb_listeners", _listeners,
         "listener names, comma-separated; leave it empty for every listener with an SSL configuration", ()),
    _Var("CERTMGR_KEY_TYPE", "key_type", _key_type,
         f"one of {', '.join(pki.KEY_TYPES)} (default {DEFAULT_KEY_TYPE})", DEFAULT_KEY_TYPE),
    *_CA_ACCESS,
    _Var("CERTMGR_ACME_FALLBACK_DIRECTORY", "acme_fallback_directory", _directory,
         "a second ACME CA ('staging', 'production' or a directory URL), ordered from when the first fails and "
         "the certificate is missing, expired or past half its renewal window; leave it empty for none"),
    *map(_for_fallback, _CA_ACCESS),
    _Var("CERTMGR_DNS_NAMESERVERS", "dns_nameservers", nameservers,
         "nameserver IP addresses to check propagation on, comma-separated, each optionally with :port "
         "(e.g. 192.0.2.53,[2001:db8::53]:5353); leave it empty to use the zone's nameservers", ()),
    _Var("CERTMGR_PROPAGATION_TIMEOUT", "propagation_timeout", int_in(*PROPAGATION_TIMEOUT_RANGE, "seconds"),
         f"a whole number of seconds, {PROPAGATION_TIMEOUT_RANGE[0]} to {PROPAGATION_TIMEOUT_RANGE[1]} "
         f"(default {DEFAULT_PROPAGATION_TIMEOUT})", DEFAULT_PROPAGATION_TIMEOUT),
    _Var("CERTMGR_RUN_BUDGET", "run_budget", int_in(*RUN_BUDGET_RANGE, "seconds"),
         f"a whole number of seconds, {RUN_BUDGET_RANGE[0]} (what an order needs) to {RUN_BUDGET_RANGE[1]}, at "
         f"least 20 below the function's timeout (default {DEFAULT_RUN_BUDGET})", DEFAULT_RUN_BUDGET),
    _Var("CERTMGR_CERTIFICATE_NAME", "certificate_name", _certificate_name,
         "the name of the certificate in the OCI Certificates service that listeners should reference (1 to 240 "
         "letters, digits, '.', '-', '_'); leave it empty to deploy LB certificate bundles"),
    _Var("CERTMGR_VERIFY_ENDPOINTS", "verify_endpoints", endpoints,
         "host:port of each HTTPS endpoint that must serve the new certificate after a deploy, comma-separated; "
         "leave it empty for no check", ()),
    _Var("CERTMGR_VERIFY_CA_BUNDLE", "verify_ca_bundle", ca_bundle,
         "the path of a PEM file with roots to trust, besides the system's, when checking those endpoints"),
    _Var("CERTMGR_OCI_ENDPOINT", "oci_endpoint", endpoint,
         "an http(s) URL that replaces every OCI service endpoint; {region} in it becomes the region"),
    _Var("CERTMGR_ACME_PROFILE", "acme_profile", _profile,
         "a profile the ACME server offers, e.g. classic, tlsserver or shortlived"),
    _Var("CERTMGR_OCI_PROFILE", "oci_profile", _oci_profile,
         f"a profile name in the OCI config file (default {DEFAULT_OCI_PROFILE})", DEFAULT_OCI_PROFILE),
    _Var("CERTMGR_REGION", "region", region, "an OCI region identifier such as us-ashburn-1"),
    _Var("CERTMGR_FLEET_PREFIX", "fleet_prefix", _prefix, "the Terraform module's name_prefix, for an entry of "
         "its certificates map: the fleet's shared policies are named by it (the module sets it)"),
    _Var("CERTMGR_METRICS", "metrics", boolean, "true or false: post each run's figures to OCI Monitoring, "
         "namespace certmgr, in CERTMGR_COMPARTMENT_ID (default false)", False),
)
_KNOWN = {var.env for var in VARIABLES}


def read(env: Mapping[str, str]) -> dict:
    values: dict[str, object] = {}
    problems: list[Problem] = []
    warnings: list[str] = []
    mode = DEFAULT_MODE
    for var in VARIABLES:
        text = (env.get(var.env) or "").strip()
        if not text:
            values[var.field] = var.default
            if var.required and mode == "renew":
                problems.append(Problem(var.env, "is not set", f"set it to {var.wants}"))
            continue
        try:
            values[var.field] = var.parse(text)
        except Invalid as exc:
            problem = exc.problem.replace(text, "***") if var.secret else exc.problem
            problems.append(Problem(var.env, problem, exc.fix or f"set it to {var.wants}"))
            continue
        if var.field == "mode":
            mode = values["mode"]
        for item in items(text) if var.kinds else ():
            kind = item.split(".")[1]
            if kind not in var.kinds:
                expected = " or ".join(map(repr, var.kinds))
                warnings.append(f"{var.env}: {item} is the OCID of a {kind!r}, not of a {expected}; "
                                f"check that it is {var.wants.split(' (')[0]}")
    _check_eab(env, problems)
    unknown = _unknown_variables(env)
    values["monitor"] = None
    if mode == "monitor":  # the monitor's table too, so that one run reports the problems of both
        try:
            values["monitor"] = read_monitor(env)
        except ConfigError as exc:
            problems += exc.problems
            unknown += exc.notes
    if problems:
        raise ConfigError(problems, notes=unknown)
    warnings += unknown
    resource_principal = bool((env.get("OCI_RESOURCE_PRINCIPAL_VERSION") or "").strip())
    return dict(values, warnings=tuple(warnings),
                auth=AUTH_RESOURCE_PRINCIPAL if resource_principal else AUTH_CONFIG_FILE,
                oci_config_file=None if resource_principal else
                (env.get("OCI_CONFIG_FILE") or env.get("OCI_CLI_CONFIG_FILE") or None))


def _check_eab(env: Mapping[str, str], problems: list[Problem]) -> None:
    """External account binding needs both halves, for each CA; say which one is missing."""
    for kid, key in (("CERTMGR_ACME_EAB_KID", "CERTMGR_ACME_EAB_HMAC_KEY"),
                     ("CERTMGR_ACME_FALLBACK_EAB_KID", "CERTMGR_ACME_FALLBACK_EAB_HMAC_KEY")):
        present = {name: bool((env.get(name) or "").strip()) for name in (kid, key)}
        if present[kid] != present[key]:
            missing, given = (key, kid) if present[kid] else (kid, key)
            problems.append(Problem(missing, f"is not set, but {given} is",
                                    "set both (the key id and HMAC key your CA gave you) or neither"))


def _unknown_variables(env: Mapping[str, str]) -> list[str]:
    """A misspelt variable is silently ignored otherwise, leaving its default in force."""
    notes = []
    for name in sorted(env):
        if name.startswith("CERTMGR_") and name not in _KNOWN and not name.startswith(MONITOR_PREFIX):
            close = difflib.get_close_matches(name, _KNOWN, n=1)
            notes.append(f"{name} is not a certmgr setting and is ignored"
                         + (f"; did you mean {close[0]}?" if close else ""))
    return notes
