"""CERTMGR_* environment -> Config. `Config.from_env` is the only code that reads the environment.

Every variable is checked before anything else runs, and every problem is reported at once, naming the
variable, what is wrong and how to fix it: one failed run should be enough to fix a deployment.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import difflib
import hmac
import ipaddress
import os
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import idna

from . import certs
from .errors import CertificateError, ConfigError, Problem

DEFAULT_RENEWAL_DAYS = 30
RENEWAL_DAYS_RANGE = (7, 60)
DEFAULT_PROPAGATION_TIMEOUT = 120  # seconds: leaves room for the rest of a run inside Fn's 300 s limit
PROPAGATION_TIMEOUT_RANGE = (10, 3600)
DEFAULT_RUN_BUDGET = 280  # seconds: inside Fn's 300 s limit, with room for the TXT clean-up after it
RUN_BUDGET_RANGE = (10, 3600)  # detached invocations may run up to an hour
DEFAULT_NAME_PREFIX = "tmi"
NAME_PREFIX_MAX = 32
ACME_DIRECTORIES = {
    "staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
    "production": "https://acme-v02.api.letsencrypt.org/directory",
}
DEFAULT_ACME_DIRECTORY = ACME_DIRECTORIES["staging"]  # a typo must not burn production rate limits
DEFAULT_KEY_TYPE = certs.DEFAULT_KEY_TYPE
MODES = ("renew", "monitor")
DEFAULT_MODE = "renew"
DEFAULT_OCI_PROFILE = "DEFAULT"
MAX_NAMES = 100  # Let's Encrypt's limit per certificate
DNS_PORT = 53
AUTH_RESOURCE_PRINCIPAL = "resource_principal"
AUTH_CONFIG_FILE = "config_file"
MONITOR_PREFIX = "CERTMGR_MONITOR_"  # read by the monitor's own settings, not here

_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_OCID = re.compile(r"^ocid1\.([a-z0-9-]+)\.([a-z0-9]+)\.([a-z0-9-]*)(\.[a-z0-9-]+)?\.([a-z0-9]+)$")
_PREFIX = re.compile(rf"^[A-Za-z][A-Za-z0-9-]{{0,{NAME_PREFIX_MAX - 1}}}$")
_PROFILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_REGION = re.compile(r"^[a-z]+(-[a-z0-9]+)+$")
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


class Secret:
    """A value that must not leak: its repr is `Secret('***')`; `reveal()` gives the value to its one user."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)


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
      acme_directory      str           CERTMGR_ACME_DIRECTORY, always a URL (Let's Encrypt staging)
      dry_run             bool          CERTMGR_DRY_RUN (False)
      lb_listeners        tuple[str]    CERTMGR_LB_LISTENERS (() = every listener with an SSL configuration)
      key_type            str           CERTMGR_KEY_TYPE, one of certs.KEY_TYPES ("ecdsa-p256")
      acme_ca_bundle      str | None    CERTMGR_ACME_CA_BUNDLE: path of a PEM file that exists and parses
      acme_eab_kid        str | None    CERTMGR_ACME_EAB_KID   (set together with the HMAC key, or neither)
      acme_eab_hmac_key   Secret | None CERTMGR_ACME_EAB_HMAC_KEY, base64url text; `.reveal()` it
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
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Config":
        """Read and check every variable; raise one ConfigError listing every problem found."""
        return _read(env)

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
                "account_key": f"{p}-acme-account-key"}

    @property
    def verify_name(self) -> str:
        """The name a post-deploy check asks for (SNI, hostname check): the primary name, or a name the
        primary wildcard covers."""
        plain = [n for n in self.domains if not n.startswith("*.")]
        return plain[0] if plain else "www." + self.domains[0].removeprefix("*.")

    @property
    def lock_name(self) -> str:
        """The run lock's secret, which also keeps what one run leaves the next (see lock.py)."""
        return f"{self.name_prefix}-lock"

    def lb_certificate_name(self, serial_hex: str, not_before: dt.datetime) -> str:
        """The LB certificate name for one certificate: a function of the certificate alone, so a rerun
        after an interrupted deploy finds the upload it already made instead of adding another."""
        return f"{self.name_prefix}-{serial_hex.lower()[:16]}-{not_before:%Y%m%d}"

    def owns_lb_certificate(self, name: str) -> bool:
        """Whether `name` is one of this deployment's LB certificate names: exactly, so that prefix `tmi`
        never claims the certificates of a deployment with prefix `tmi-b`."""
        return re.fullmatch(re.escape(self.name_prefix) + r"-[0-9a-f]{1,16}-[0-9]{8}", name) is not None


def normalise_name(text: str) -> str:
    """A DNS name as certificates carry it: lower case, punycode, no trailing dot, `*.` only leftmost.
    Raises ValueError saying what is wrong."""
    name = text.strip().lower().removesuffix(".")
    wildcard = name.startswith("*.")
    body = name[2:] if wildcard else name
    if "*" in body:
        raise ValueError(f"{text!r}: '*' is only allowed as the whole leftmost label, as in *.example.com")
    labels = []
    for label in body.split("."):
        if not label:
            raise ValueError(f"{text!r} has an empty label")
        if not label.isascii():
            try:
                label = idna.encode(label, uts46=True).decode("ascii")
            except idna.IDNAError as exc:
                raise ValueError(f"{text!r}: {label!r} is not a valid internationalised label ({exc})") from None
        if not _LABEL.match(label):
            raise ValueError(f"{text!r}: label {label!r} must be 1-63 letters, digits or '-', "
                             f"not starting or ending with '-'")
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except idna.IDNAError:
                raise ValueError(f"{text!r}: {label!r} is not valid punycode") from None
        labels.append(label)
    if labels[-1].isdigit():
        raise ValueError(f"{text!r} looks like an IP address; certificates from DNS-01 cover DNS names only")
    if len(labels) < 2:
        raise ValueError(f"{text!r} has a single label; CAs only issue for names under a public suffix")
    ascii_name = ".".join(labels)
    if len(ascii_name) > 253:
        raise ValueError(f"{text!r} is longer than 253 characters")
    return ("*." if wildcard else "") + ascii_name


# --- one parser per kind of value; each raises _Invalid(problem[, fix]) and never sees the environment ---

class _Invalid(Exception):
    def __init__(self, problem: str, fix: str | None = None):
        super().__init__(problem)
        self.problem, self.fix = problem, fix


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _domains(text: str) -> tuple[str, ...]:
    names, problems = [], []
    for item in _items(text):
        try:
            name = normalise_name(item)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if name in names:
            problems.append(f"{name} is listed twice")
        else:
            names.append(name)
    if problems:
        raise _Invalid("; ".join(problems))
    if not names:
        raise _Invalid("lists no names")
    if len(names) > MAX_NAMES:
        raise _Invalid(f"lists {len(names)} names; a certificate holds at most {MAX_NAMES}",
                       "split the names over several certmgr deployments (different CERTMGR_NAME_PREFIX)")
    return tuple(names)


def _email(text: str) -> str:
    if text.lower().startswith("mailto:"):
        raise _Invalid(f"{text!r} starts with 'mailto:'", "give the bare address; certmgr adds mailto: itself")
    local, at, domain = text.rpartition("@")
    if not at or not local or any(c in local for c in " ,;<>@\t"):
        raise _Invalid(f"{text!r} is not an e-mail address")
    try:
        return f"{local}@{normalise_name(domain)}"
    except ValueError as exc:
        raise _Invalid(f"{text!r} has a bad domain part: {exc}") from None


def _ocid(text: str) -> str:
    if not _OCID.match(text):
        raise _Invalid(f"{text!r} is not an OCID (ocid1.<resource type>.<realm>.[region].<unique id>)")
    return text


def _ocids(text: str) -> tuple[str, ...]:
    items = _items(text)
    twice = sorted({i for i in items if items.count(i) > 1})
    if twice:
        raise _Invalid(f"{', '.join(twice)} listed twice")
    return tuple(_ocid(item) for item in items)


def _int_in(low: int, high: int, unit: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise _Invalid(f"{text!r} is not a whole number of {unit}") from None
        if not low <= value <= high:
            raise _Invalid(f"{value} is outside {low}..{high} {unit}")
        return value
    return parse


def _prefix(text: str) -> str:
    if not _PREFIX.match(text):
        raise _Invalid(f"{text!r} is not 1-{NAME_PREFIX_MAX} letters, digits or '-' starting with a letter")
    return text


def _url(text: str) -> str:
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in text):
        raise _Invalid(f"{text!r} is not an http(s) URL")
    return text


def _directory(text: str) -> str:
    shorthand = ACME_DIRECTORIES.get(text.lower())
    if shorthand:
        return shorthand
    try:
        return _url(text)
    except _Invalid:
        raise _Invalid(f"{text!r} is neither 'staging', 'production' nor an http(s) URL") from None


def _bool(text: str) -> bool:
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise _Invalid(f"{text!r} is not a yes/no value")


def _listeners(text: str) -> tuple[str, ...]:
    names = _items(text)
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise _Invalid(f"{', '.join(twice)} listed twice")
    return tuple(names)


def _key_type(text: str) -> str:
    if text.lower() not in certs.KEY_TYPES:
        raise _Invalid(f"{text!r} is not a supported key type")
    return text.lower()


def _ca_bundle(path: str) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise _Invalid(f"{path!r} cannot be read ({exc.strerror})") from None
    try:
        certs.load_ca_bundle(data)
    except CertificateError:
        raise _Invalid(f"{path!r} holds no PEM certificate") from None
    return path


def _text(text: str) -> str:
    return text


def _hmac_key(text: str) -> Secret:
    """Never quotes the value: it is a credential."""
    if not _BASE64URL.match(text):
        raise _Invalid("is not base64url text (letters, digits, '-' and '_')",
                       "copy the HMAC key exactly as your CA shows it; convert '+' to '-' and '/' to '_'")
    bare = text.rstrip("=")
    try:
        base64.urlsafe_b64decode(bare + "=" * (-len(bare) % 4))
    except binascii.Error:
        raise _Invalid("does not decode as base64url (its length is wrong)") from None
    return Secret(text)


def _nameserver(item: str) -> tuple[str, int]:
    """`ip`, `ip:port`, `ipv6` or `[ipv6]:port`."""
    host, port = item, None
    if item.startswith("[") and "]" in item:
        host, _, rest = item[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else rest or None
    elif item.count(":") == 1:
        host, port = item.split(":")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise _Invalid(f"{item!r} is not an IP address (nameserver names are not resolved)") from None
    if port is None:
        return host, DNS_PORT
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise _Invalid(f"{item!r} has a bad port")
    return host, int(port)


def _nameservers(text: str) -> tuple[tuple[str, int], ...]:
    return tuple(dict.fromkeys(_nameserver(item) for item in _items(text)))


def _endpoints(text: str) -> tuple[tuple[str, int], ...]:
    """`host:port` items (a host name or an address; `[ipv6]:port`), the TLS endpoints a deploy must reach."""
    found = []
    for item in _items(text):
        host, _, port = item.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise _Invalid(f"{item!r} is not host:port", "list the HTTPS endpoints clients use, e.g. "
                                                         "www.example.com:443,203.0.113.7:443")
        found.append((host, int(port)))
    return tuple(dict.fromkeys(found))


def _endpoint(text: str) -> str:
    _url(text.replace("{region}", "us-ashburn-1"))
    if "{" in text.replace("{region}", "") or "}" in text.replace("{region}", ""):
        raise _Invalid(f"{text!r} has a placeholder other than {{region}}")
    return text.rstrip("/")


def _certificate_name(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,240}", text):
        raise _Invalid(f"{text!r} is not a Certificates-service certificate name")
    return text


def _profile(text: str) -> str:
    if not _PROFILE.match(text):
        raise _Invalid(f"{text!r} is not a profile name (letters, digits, '.', '_', '-')")
    return text


def _mode(text: str) -> str:
    if text.lower() not in MODES:
        raise _Invalid(f"{text!r} is not a mode")
    return text.lower()


def _oci_profile(text: str) -> str:
    if any(c in text for c in "[]") or any(c.isspace() for c in text):
        raise _Invalid(f"{text!r} is not a config file profile name")
    return text


def _region(text: str) -> str:
    if not _REGION.match(text):
        raise _Invalid(f"{text!r} is not an OCI region identifier")
    return text


@dataclass(frozen=True)
class _Var:
    env: str
    field: str
    parse: Callable[[str], object]
    wants: str                  # what a good value is; ends every message about this variable
    default: object = None
    required: bool = False      # in renew mode
    secret: bool = False        # its value never appears in a message
    kinds: tuple[str, ...] = ()  # for OCIDs: the resource types expected; others are accepted with a warning


_VARS = (
    _Var("CERTMGR_MODE", "mode", _mode, f"one of {', '.join(MODES)} (default {DEFAULT_MODE})", DEFAULT_MODE),
    _Var("CERTMGR_DOMAIN", "domains", _domains,
         "the certificate's DNS names, comma-separated, primary first (e.g. example.com,*.example.com)", (),
         required=True),
    _Var("CERTMGR_DNS_ZONE_ID", "dns_zone_ids", _ocids,
         "the OCID of the OCI DNS zone holding the names (ocid1.dns-zone.oc1..<unique id>), or several, "
         "comma-separated, when the names (or their CNAME'd _acme-challenge) are in several zones", required=True,
         kinds=("dns-zone", "dnszone")),
    _Var("CERTMGR_ACME_EMAIL", "acme_email", _email,
         "the ACME account's contact e-mail address (e.g. admin@example.com)", required=True),
    _Var("CERTMGR_LB_ID", "lb_id", _ocid,
         "the OCID of the load balancer (ocid1.loadbalancer.oc1.<region>.<unique id>)", required=True,
         kinds=("loadbalancer",)),
    _Var("CERTMGR_VAULT_ID", "vault_id", _ocid,
         "the OCID of the vault for the certificate's secrets (ocid1.vault.oc1.<region>.<unique id>)",
         required=True, kinds=("vault",)),
    _Var("CERTMGR_VAULT_KEY_ID", "vault_key_id", _ocid,
         "the OCID of the vault's master encryption key (ocid1.key.oc1.<region>.<unique id>)", required=True,
         kinds=("key",)),
    _Var("CERTMGR_COMPARTMENT_ID", "compartment_id", _ocid,
         "the OCID of the compartment for the secrets (ocid1.compartment.oc1..<unique id>)", required=True,
         kinds=("compartment", "tenancy")),
    _Var("CERTMGR_RENEWAL_DAYS", "renewal_days", _int_in(*RENEWAL_DAYS_RANGE, "days"),
         f"a whole number of days before expiry, {RENEWAL_DAYS_RANGE[0]} to {RENEWAL_DAYS_RANGE[1]} "
         f"(default {DEFAULT_RENEWAL_DAYS})", DEFAULT_RENEWAL_DAYS),
    _Var("CERTMGR_NAME_PREFIX", "name_prefix", _prefix,
         f"1 to {NAME_PREFIX_MAX} letters, digits or '-', starting with a letter (default {DEFAULT_NAME_PREFIX});"
         f" it begins every secret and LB certificate name", DEFAULT_NAME_PREFIX),
    _Var("CERTMGR_ACME_DIRECTORY", "acme_directory", _directory,
         "'staging', 'production' (Let's Encrypt) or the full URL of an ACME directory (default staging)",
         DEFAULT_ACME_DIRECTORY),
    _Var("CERTMGR_DRY_RUN", "dry_run", _bool, "true or false (also 1/0, yes/no; default false)", False),
    _Var("CERTMGR_LB_LISTENERS", "lb_listeners", _listeners,
         "listener names, comma-separated; leave it empty for every listener with an SSL configuration", ()),
    _Var("CERTMGR_KEY_TYPE", "key_type", _key_type,
         f"one of {', '.join(certs.KEY_TYPES)} (default {DEFAULT_KEY_TYPE})", DEFAULT_KEY_TYPE),
    _Var("CERTMGR_ACME_CA_BUNDLE", "acme_ca_bundle", _ca_bundle,
         "the path of a PEM file with the CA certificates that sign the ACME server's TLS certificate"),
    _Var("CERTMGR_ACME_EAB_KID", "acme_eab_kid", _text, "the external account binding key id from your CA"),
    _Var("CERTMGR_ACME_EAB_HMAC_KEY", "acme_eab_hmac_key", _hmac_key,
         "the external account binding HMAC key from your CA (base64url)", secret=True),
    _Var("CERTMGR_DNS_NAMESERVERS", "dns_nameservers", _nameservers,
         "nameserver IP addresses to check propagation on, comma-separated, each optionally with :port "
         "(e.g. 192.0.2.53,[2001:db8::53]:5353); leave it empty to use the zone's nameservers", ()),
    _Var("CERTMGR_PROPAGATION_TIMEOUT", "propagation_timeout", _int_in(*PROPAGATION_TIMEOUT_RANGE, "seconds"),
         f"a whole number of seconds, {PROPAGATION_TIMEOUT_RANGE[0]} to {PROPAGATION_TIMEOUT_RANGE[1]} "
         f"(default {DEFAULT_PROPAGATION_TIMEOUT})", DEFAULT_PROPAGATION_TIMEOUT),
    _Var("CERTMGR_RUN_BUDGET", "run_budget", _int_in(*RUN_BUDGET_RANGE, "seconds"),
         f"a whole number of seconds, {RUN_BUDGET_RANGE[0]} to {RUN_BUDGET_RANGE[1]}, at least 20 below the "
         f"function's timeout (default {DEFAULT_RUN_BUDGET})", DEFAULT_RUN_BUDGET),
    _Var("CERTMGR_CERTIFICATE_NAME", "certificate_name", _certificate_name,
         "the name of the certificate in the OCI Certificates service that listeners should reference (1 to 240 "
         "letters, digits, '.', '-', '_'); leave it empty to deploy LB certificate bundles"),
    _Var("CERTMGR_VERIFY_ENDPOINTS", "verify_endpoints", _endpoints,
         "host:port of each HTTPS endpoint that must serve the new certificate after a deploy, comma-separated; "
         "leave it empty for no check", ()),
    _Var("CERTMGR_VERIFY_CA_BUNDLE", "verify_ca_bundle", _ca_bundle,
         "the path of a PEM file with roots to trust, besides the system's, when checking those endpoints"),
    _Var("CERTMGR_OCI_ENDPOINT", "oci_endpoint", _endpoint,
         "an http(s) URL that replaces every OCI service endpoint; {region} in it becomes the region"),
    _Var("CERTMGR_ACME_PROFILE", "acme_profile", _profile,
         "a profile the ACME server offers, e.g. classic, tlsserver or shortlived"),
    _Var("CERTMGR_OCI_PROFILE", "oci_profile", _oci_profile,
         f"a profile name in the OCI config file (default {DEFAULT_OCI_PROFILE})", DEFAULT_OCI_PROFILE),
    _Var("CERTMGR_REGION", "region", _region, "an OCI region identifier such as us-ashburn-1"),
)
_KNOWN = {var.env for var in _VARS}


def _read(env: Mapping[str, str]) -> Config:
    values: dict[str, object] = {}
    problems: list[Problem] = []
    warnings: list[str] = []
    mode = DEFAULT_MODE
    for var in _VARS:
        text = (env.get(var.env) or "").strip()
        if not text:
            values[var.field] = var.default
            if var.required and mode == "renew":
                problems.append(Problem(var.env, "is not set", f"set it to {var.wants}"))
            continue
        try:
            values[var.field] = var.parse(text)
        except _Invalid as exc:
            problem = exc.problem.replace(text, "***") if var.secret else exc.problem
            problems.append(Problem(var.env, problem, exc.fix or f"set it to {var.wants}"))
            continue
        if var.field == "mode":
            mode = values["mode"]
        for item in _items(text) if var.kinds else ():
            kind = item.split(".")[1]
            if kind not in var.kinds:
                expected = " or ".join(map(repr, var.kinds))
                warnings.append(f"{var.env}: {item} is the OCID of a {kind!r}, not of a {expected}; "
                                f"check that it is {var.wants.split(' (')[0]}")
    _check_eab(env, problems)
    unknown = _unknown_variables(env)
    if problems:
        raise ConfigError(problems, notes=unknown)
    warnings += unknown
    resource_principal = bool((env.get("OCI_RESOURCE_PRINCIPAL_VERSION") or "").strip())
    return Config(**values, warnings=tuple(warnings),
                  auth=AUTH_RESOURCE_PRINCIPAL if resource_principal else AUTH_CONFIG_FILE,
                  oci_config_file=None if resource_principal else
                  (env.get("OCI_CONFIG_FILE") or env.get("OCI_CLI_CONFIG_FILE") or None))


def _check_eab(env: Mapping[str, str], problems: list[Problem]) -> None:
    """External account binding needs both halves; say which one is missing."""
    kid, key = "CERTMGR_ACME_EAB_KID", "CERTMGR_ACME_EAB_HMAC_KEY"
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
