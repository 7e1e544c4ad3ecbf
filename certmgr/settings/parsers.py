"""Parsers of environment values, one per kind of value: each takes the text of one variable and returns the
value, or raises `Invalid(problem[, fix])`; none reads the environment itself. The renewer's and the
monitor's variable tables (`renewer_variables.py`, `monitor_variables.py`) are built from them."""
from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import re
import urllib.parse
from collections.abc import Callable

from .. import pki
from ..errors import CertificateError
from .names import CHALLENGE_PREFIX, MAX_DNS_NAME, MAX_NAMES, normalise_name

DNS_PORT = 53
TRUE = ("true", "1", "yes")
FALSE = ("false", "0", "no")
OCID = re.compile(r"^ocid1\.([a-z0-9-]+)\.([a-z0-9]+)\.([a-z0-9-]*)(\.[a-z0-9-]+)?\.([a-z0-9]+)$")
REGION = re.compile(r"^[a-z]+(-[a-z0-9]+)+$")
BASE64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


class Invalid(Exception):
    """What is wrong with a value, and (optionally) how to fix it."""

    def __init__(self, problem: str, fix: str | None = None):
        super().__init__(problem)
        self.problem, self.fix = problem, fix


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


def items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def email(text: str) -> str:
    if text.lower().startswith("mailto:"):
        raise Invalid(f"{text!r} starts with 'mailto:'", "give the bare address; certmgr adds mailto: itself")
    local, at, domain = text.rpartition("@")
    if not at or not local or any(c in local for c in " ,;<>@\t"):
        raise Invalid(f"{text!r} is not an e-mail address")
    try:
        return f"{local}@{normalise_name(domain)}"
    except ValueError as exc:
        raise Invalid(f"{text!r} has a bad domain part: {exc}") from None


def ocid(text: str) -> str:
    if not OCID.match(text):
        raise Invalid(f"{text!r} is not an OCID (ocid1.<resource type>.<realm>.[region].<unique id>)")
    return text


def ocids(text: str) -> tuple[str, ...]:
    found = items(text)
    twice = sorted({i for i in found if found.count(i) > 1})
    if twice:
        raise Invalid(f"{', '.join(twice)} listed twice")
    return tuple(ocid(item) for item in found)


def int_in(low: int, high: int, unit: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise Invalid(f"{text!r} is not a whole number of {unit}") from None
        if not low <= value <= high:
            raise Invalid(f"{value} is outside {low}..{high} {unit}")
        return value
    return parse


def url(text: str) -> str:
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in text):
        raise Invalid(f"{text!r} is not an http(s) URL")
    return text


def boolean(text: str) -> bool:
    if text.lower() in TRUE:
        return True
    if text.lower() in FALSE:
        return False
    raise Invalid(f"{text!r} is not a yes/no value")


def ca_bundle(path: str) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise Invalid(f"{path!r} cannot be read ({exc.strerror})") from None
    try:
        pki.load_ca_bundle(data)
    except CertificateError:
        raise Invalid(f"{path!r} holds no PEM certificate") from None
    return path


def text(text: str) -> str:
    return text


def hmac_key(text: str) -> Secret:
    """Never quotes the value: it is a credential."""
    if not BASE64URL.match(text):
        raise Invalid("is not base64url text (letters, digits, '-' and '_')",
                       "copy the HMAC key exactly as your CA shows it; convert '+' to '-' and '/' to '_'")
    bare = text.rstrip("=")
    try:
        base64.urlsafe_b64decode(bare + "=" * (-len(bare) % 4))
    except binascii.Error:
        raise Invalid("does not decode as base64url (its length is wrong)") from None
    return Secret(text)


def nameserver(item: str) -> tuple[str, int]:
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
        raise Invalid(f"{item!r} is not an IP address (nameserver names are not resolved)") from None
    if port is None:
        return host, DNS_PORT
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise Invalid(f"{item!r} has a bad port")
    return host, int(port)


def nameservers(text: str) -> tuple[tuple[str, int], ...]:
    return tuple(dict.fromkeys(nameserver(item) for item in items(text)))


def endpoints(text: str) -> tuple[tuple[str, int], ...]:
    """`host:port` items (a host name or an address; `[ipv6]:port`), the TLS endpoints a deploy must reach."""
    found = []
    for item in items(text):
        host, _, port = item.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise Invalid(f"{item!r} is not host:port", "list the HTTPS endpoints clients use, e.g. "
                                                         "www.example.com:443,203.0.113.7:443")
        found.append((host, int(port)))
    return tuple(dict.fromkeys(found))


def endpoint(text: str) -> str:
    url(text.replace("{region}", "us-ashburn-1"))
    if "{" in text.replace("{region}", "") or "}" in text.replace("{region}", ""):
        raise Invalid(f"{text!r} has a placeholder other than {{region}}")
    return text.rstrip("/")


def region(text: str) -> str:
    if not REGION.match(text):
        raise Invalid(f"{text!r} is not an OCI region identifier")
    return text


def domains(text: str) -> tuple[str, ...]:
    """The certificate's names. Refused here, before any order, what a CA refuses: a name whose DNS-01
    record name is too long for DNS, and a name a wildcard of the same list covers (Let's Encrypt's 400
    malformed "Domain name ... is redundant with a wildcard domain in the same request", as its users report
    it: cert-manager/cert-manager#2128, acmesh-official/acme.sh#2216)."""
    names, problems = [], []
    for item in items(text):
        try:
            name = normalise_name(item)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        record = CHALLENGE_PREFIX + name.removeprefix("*.")
        if name in names:
            problems.append(f"{name} is listed twice")
        elif len(record) > MAX_DNS_NAME:
            problems.append(f"{name}: its DNS-01 record {record[:24]}... is {len(record)} characters, over DNS's "
                            f"{MAX_DNS_NAME} (names of at most {MAX_DNS_NAME - len(CHALLENGE_PREFIX)} can be validated)")
        else:
            names.append(name)
    covered = [n for n in names if not n.startswith("*.") and "." in n and "*." + n.split(".", 1)[1] in names]
    problems += [f"{n} is covered by *.{n.split('.', 1)[1]} in the same list, and CAs refuse such an order: "
                 f"remove {n}" for n in covered]
    if problems:
        raise Invalid("; ".join(problems))
    if not names:
        raise Invalid("lists no names")
    if len(names) > MAX_NAMES:
        raise Invalid(f"lists {len(names)} names; a certificate holds at most {MAX_NAMES}",
                       "split the names over several certmgr deployments (different CERTMGR_NAME_PREFIX)")
    return tuple(names)
