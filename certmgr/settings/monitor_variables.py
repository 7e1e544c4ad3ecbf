"""The monitor's variable table (CERTMGR_MONITOR_*) and `MonitorConfig`, the expiry monitor's settings.

`renewer_variables.read` reads this table too when CERTMGR_MODE is monitor, so a run reports the problems of both
tables at once; `Config.monitor` carries the result. Checked the same way (every problem at once, each
naming the variable and the fix, credentials never quoted).

A channel is on when its settings are given: e-mail with EMAIL_FROM and EMAIL_TO (through the Email Delivery
API, signed by the function's own identity; through SMTP instead when the SMTP credential secrets are given,
and any other CERTMGR_MONITOR_SMTP_* variable needs them), Notifications with TOPIC_ID, Logging with LOG_ID.
"""
from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass

from .parsers import Invalid, boolean, ca_bundle, email, endpoints, int_in, items, ocid
from ..errors import ConfigError, Problem

MONITOR_PREFIX = "CERTMGR_MONITOR_"

DEFAULT_WARNING_DAYS = 30
DEFAULT_CRITICAL_DAYS = 7
DEFAULT_REALERT_DAYS = 7
DEFAULT_SMTP_PORT = 587
DEFAULT_CONCURRENCY = 16
SMTP_HOST_TEMPLATE = "smtp.email.{region}.oci.oraclecloud.com"  # OCI Email Delivery's submission endpoint
_EMAIL_REQUIRED = ("EMAIL_FROM", "EMAIL_TO")
_SMTP_REQUIRED = ("SMTP_USERNAME_SECRET", "SMTP_PASSWORD_SECRET")


@dataclass(frozen=True)
class MonitorConfig:
    """The monitor's settings, validated: `Config.from_env(...).monitor` in monitor mode.

      warning_days / critical_days  int   a certificate with at most this many days left is WARNING / CRITICAL
      realert_days        int             an unchanged WARNING is repeated after this many days (0: every run)
      always_send         bool            send the digest even when everything is OK
      lb_ids              tuple[str]      load balancers checked besides those the scan finds
      endpoints           tuple[(host, port)]  TLS endpoints whose served certificate is checked
      email_from          str | None      an approved sender of Email Delivery; None = no e-mail
      email_to            tuple[str]
      smtp_host           str | None      None = OCI Email Delivery of the run's region (see smtp_host_for)
      smtp_port           int
      smtp_username_secret / smtp_password_secret  str | None   Vault secret OCIDs of the SMTP credentials;
                                      without them, e-mail goes through the Email Delivery API
      smtp_ca_bundle      str | None      PEM file trusted for STARTTLS instead of the system store
      topic_id            str | None      Notifications topic for the digest
      log_id              str | None      Logging custom log for one entry per certificate
      log_group_id        str | None      that log's group, which the policy names (only the grant an error names)
      concurrency         int             API calls in flight at once
      warnings            tuple[str]      things to report that do not stop the run
    """

    warning_days: int = DEFAULT_WARNING_DAYS
    critical_days: int = DEFAULT_CRITICAL_DAYS
    realert_days: int = DEFAULT_REALERT_DAYS
    always_send: bool = False
    lb_ids: tuple[str, ...] = ()
    endpoints: tuple[tuple[str, int], ...] = ()
    email_from: str | None = None
    email_to: tuple[str, ...] = ()
    smtp_host: str | None = None
    smtp_port: int = DEFAULT_SMTP_PORT
    smtp_username_secret: str | None = None
    smtp_password_secret: str | None = None
    smtp_ca_bundle: str | None = None
    topic_id: str | None = None
    log_id: str | None = None
    log_group_id: str | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    warnings: tuple[str, ...] = ()

    @property
    def email(self) -> bool:
        return self.email_from is not None

    @property
    def email_api(self) -> bool:
        """E-mail goes through the Email Delivery API (no SMTP credentials given)."""
        return self.email and not self.smtp_username_secret

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(name for name, on in (("email", self.email), ("notifications", self.topic_id),
                                           ("logging", self.log_id)) if on)

    def smtp_host_for(self, region: str) -> str:
        return self.smtp_host or SMTP_HOST_TEMPLATE.format(region=region)


def _ocids(text: str) -> tuple[str, ...]:
    ids = items(text)
    bad = [item for item in ids if not _looks_like_ocid(item)]
    if bad:
        raise Invalid(f"{', '.join(map(repr, bad))} {'is' if len(bad) == 1 else 'are'} not OCIDs")
    return tuple(dict.fromkeys(ids))


def _looks_like_ocid(text: str) -> bool:
    try:
        ocid(text)
    except Invalid:
        return False
    return True


def _emails(text: str) -> tuple[str, ...]:
    addresses, problems = [], []
    for item in items(text):
        try:
            addresses.append(email(item))
        except Invalid as exc:
            problems.append(exc.problem)
    if problems:
        raise Invalid("; ".join(problems))
    if not addresses:
        raise Invalid("lists no address")
    return tuple(dict.fromkeys(addresses))


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise Invalid(f"{text!r} is not a port number (1 to 65535)")
    return int(text)


def _host(text: str) -> str:
    if any(c.isspace() or c in "/:@" for c in text):
        raise Invalid(f"{text!r} is not a host name (give the port in CERTMGR_MONITOR_SMTP_PORT)")
    return text


# variable suffix -> (field, parser, what a good value is, default)
_VARS = {
    "WARNING_DAYS": ("warning_days", int_in(1, 365, "days"),
                     f"a whole number of days, 1 to 365 (default {DEFAULT_WARNING_DAYS})", DEFAULT_WARNING_DAYS),
    "CRITICAL_DAYS": ("critical_days", int_in(0, 364, "days"),
                      f"a whole number of days, 0 to 364, lower than the warning days (default "
                      f"{DEFAULT_CRITICAL_DAYS})", DEFAULT_CRITICAL_DAYS),
    "REALERT_DAYS": ("realert_days", int_in(0, 365, "days"),
                     f"a whole number of days, 0 to 365; 0 repeats every run (default {DEFAULT_REALERT_DAYS})",
                     DEFAULT_REALERT_DAYS),
    "ALWAYS_SEND": ("always_send", boolean, "true or false (default false)", False),
    "LB_IDS": ("lb_ids", _ocids, "load balancer OCIDs, comma-separated", ()),
    "ENDPOINTS": ("endpoints", endpoints, "host:port of each TLS endpoint to check, comma-separated", ()),
    "EMAIL_FROM": ("email_from", email, "an approved sender of OCI Email Delivery, e.g. certmgr@example.com",
                   None),
    "EMAIL_TO": ("email_to", _emails, "the recipients' e-mail addresses, comma-separated", ()),
    "SMTP_HOST": ("smtp_host", _host, "the SMTP host name (default smtp.email.<region>.oci.oraclecloud.com)",
                  None),
    "SMTP_PORT": ("smtp_port", _port, f"a port number (default {DEFAULT_SMTP_PORT})",
                  DEFAULT_SMTP_PORT),
    "SMTP_USERNAME_SECRET": ("smtp_username_secret", ocid,
                             "the OCID of the Vault secret holding the SMTP user name", None),
    "SMTP_PASSWORD_SECRET": ("smtp_password_secret", ocid,
                             "the OCID of the Vault secret holding the SMTP password", None),
    "SMTP_CA_BUNDLE": ("smtp_ca_bundle", ca_bundle,
                       "the path of a PEM file with the CA that signs the SMTP server's certificate", None),
    "TOPIC_ID": ("topic_id", ocid, "the OCID of a Notifications topic (ocid1.onstopic.oc1.<region>.<id>)", None),
    "LOG_ID": ("log_id", ocid, "the OCID of a Logging custom log (ocid1.log.oc1.<region>.<id>)", None),
    "LOG_GROUP_ID": ("log_group_id", ocid, "the OCID of the log's log group (ocid1.loggroup.oc1.<region>.<id>)", None),
    "CONCURRENCY": ("concurrency", int_in(1, 64, "calls"),
                    f"a whole number of API calls in flight, 1 to 64 (default {DEFAULT_CONCURRENCY})",
                    DEFAULT_CONCURRENCY),
}


def read_monitor(env: Mapping[str, str]) -> MonitorConfig:
    """Every CERTMGR_MONITOR_* variable checked; one ConfigError listing every problem."""
    values, problems, given = {}, [], set()
    for suffix, (field, parse, wants, default) in _VARS.items():
        name = MONITOR_PREFIX + suffix
        text = (env.get(name) or "").strip()
        values[field] = default
        if not text:
            continue
        given.add(suffix)
        try:
            values[field] = parse(text)
        except Invalid as exc:
            problems.append(Problem(name, exc.problem, exc.fix or f"set it to {wants}"))
    thresholds = {MONITOR_PREFIX + "WARNING_DAYS", MONITOR_PREFIX + "CRITICAL_DAYS"}
    if {"WARNING_DAYS", "CRITICAL_DAYS"} & given and not any(p.variable in thresholds for p in problems):
        if values["critical_days"] >= values["warning_days"]:
            problems.append(Problem(
                MONITOR_PREFIX + "CRITICAL_DAYS",
                f"{values['critical_days']} is not lower than CERTMGR_MONITOR_WARNING_DAYS "
                f"({values['warning_days']})", "make the critical threshold lower than the warning threshold"))
    smtp_given = {s for s in given if s.startswith("SMTP_")}
    for needed, because in ((_EMAIL_REQUIRED, {s for s in given if s.startswith("EMAIL_")} | smtp_given),
                            (_SMTP_REQUIRED, smtp_given)):
        for suffix in needed if because else ():
            if suffix not in given:
                problems.append(Problem(
                    MONITOR_PREFIX + suffix,
                    f"is not set, but {', '.join(MONITOR_PREFIX + s for s in sorted(because))} "
                    f"{'is' if len(because) == 1 else 'are'}",
                    f"set it to {_VARS[suffix][2]}, or unset "
                    + ("every CERTMGR_MONITOR_EMAIL_* and _SMTP_* variable to send no e-mail"
                       if suffix.startswith("EMAIL_") else
                       "every CERTMGR_MONITOR_SMTP_* variable to send through the Email Delivery API")))
    notes = _unknown_variables(env)
    if problems:
        raise ConfigError(problems, notes=notes)
    warnings = list(notes)
    if not (values["email_from"] or values["topic_id"] or values["log_id"]):
        warnings.append("no notification channel is configured (CERTMGR_MONITOR_EMAIL_*, _TOPIC_ID, _LOG_ID): "
                        "the run's result is the only report")
    return MonitorConfig(**values, warnings=tuple(warnings))


def _unknown_variables(env: Mapping[str, str]) -> list[str]:
    known = [MONITOR_PREFIX + suffix for suffix in _VARS]
    notes = []
    for name in sorted(env):
        if name.startswith(MONITOR_PREFIX) and name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            notes.append(f"{name} is not a monitor setting and is ignored"
                         + (f"; did you mean {close[0]}?" if close else ""))
    return notes
