"""Domain-name rules: what certmgr accepts as a certificate name, in the form certificates carry it."""
from __future__ import annotations

import re

import idna

MAX_NAMES = 100  # Let's Encrypt's limit per certificate
CHALLENGE_PREFIX = "_acme-challenge."
MAX_DNS_NAME = 253  # RFC 1035 2.3.4, in text form without the final dot
LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


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
        if not LABEL.match(label):
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
