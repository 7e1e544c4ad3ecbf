"""Deliver: the monitor's findings: one digest by e-mail (SMTP or Email Delivery's API) and Notifications, one
log entry per certificate.

Each channel either delivers or raises NotifyError saying what failed and what to check; the monitor tries
every channel whatever the others did. SMTP credentials are read from Vault when the mail is sent, live in
two local variables, and are scrubbed from every message that could carry them.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import json
import smtplib
import ssl
import uuid
from collections.abc import Callable, Sequence
from email.message import EmailMessage

import oci.email_data_plane
import oci.loggingingestion
import oci.ons

from ..errors import NotifyError, oci_failure
from .model import API_ERRORS, Item
from .report import Digest, fit

TOPIC_MESSAGE_LIMIT = 64 * 1024  # bytes of title + body Notifications accepts in one message
LOG_BATCH = 500                  # entries per put_logs call: small requests, far below the 10 MB limit
LOG_SOURCE, LOG_TYPE = "certmgr-monitor", "certmgr.monitor.certificate"


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class EmailChannel:
    """SMTP submission with STARTTLS and AUTH, as OCI Email Delivery requires."""

    name = "email"

    def __init__(self, *, host: str, port: int, sender: str, recipients: Sequence[str],
                 credentials: Callable[[], tuple[str, str]], ca_bundle: str | None, timeout: float):
        self.host, self.port, self.sender, self.recipients = host, port, sender, tuple(recipients)
        self.credentials, self.ca_bundle, self.timeout = credentials, ca_bundle, timeout

    def message(self, digest: Digest) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = digest.title
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["Date"] = email.utils.formatdate(usegmt=True)
        msg["Message-ID"] = email.utils.make_msgid(domain=self.sender.rpartition("@")[2])
        msg.set_content(digest.text)
        if digest.html:
            msg.add_alternative(digest.html, subtype="html")
        return msg

    def send(self, digest: Digest) -> None:
        self._session(self.message(digest))

    def login(self) -> None:
        """STARTTLS and AUTH, then QUIT: proves the server and the credentials, sending nothing."""
        self._session(None)

    def _session(self, msg: EmailMessage | None) -> None:
        username, password = self.credentials()
        server = f"{self.host}:{self.port}"
        try:
            self._deliver(msg, username, password)
        except smtplib.SMTPAuthenticationError as exc:
            raise self._fail(f"{server} refused the SMTP credentials ({_reply(exc)})", password,
                             "check the user name and password secrets: they must hold an SMTP credential "
                             "of a user allowed to send through Email Delivery") from None
        except smtplib.SMTPSenderRefused as exc:
            raise self._fail(f"{server} refused the sender {self.sender} ({_reply(exc)})", password,
                             "make CERTMGR_MONITOR_EMAIL_FROM an approved sender in Email Delivery") from None
        except smtplib.SMTPRecipientsRefused as exc:
            refused = ", ".join(f"{rcpt} ({code} {text.decode(errors='replace')})"
                                for rcpt, (code, text) in exc.recipients.items())
            raise self._fail(f"{server} refused the recipients {refused}", password,
                             "check CERTMGR_MONITOR_EMAIL_TO") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise self._fail(f"{server} does not offer {exc}", password,
                             "use Email Delivery's SMTP endpoint on port 587, which requires STARTTLS") from None
        except ssl.SSLError as exc:
            raise self._fail(f"TLS with {server} failed ({exc.reason or exc})", password,
                             "check CERTMGR_MONITOR_SMTP_HOST; for a private CA set "
                             "CERTMGR_MONITOR_SMTP_CA_BUNDLE") from None
        except smtplib.SMTPException as exc:
            raise self._fail(f"sending through {server} failed ({_reply(exc)})", password) from None
        except OSError as exc:  # refused, unreachable, unknown host, timed out
            raise self._fail(f"cannot reach SMTP server {server} ({exc.strerror or exc})", password,
                             "check CERTMGR_MONITOR_SMTP_HOST / _PORT and that the function's subnet may "
                             "connect out to it") from None

    def _deliver(self, msg: EmailMessage | None, username: str, password: str) -> None:
        context = ssl.create_default_context(cafile=self.ca_bundle)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise smtplib.SMTPNotSupportedError("STARTTLS")
            smtp.starttls(context=context)
            smtp.ehlo()
            smtp.login(username, password)
            if msg is not None:
                smtp.send_message(msg, from_addr=self.sender, to_addrs=list(self.recipients))

    @staticmethod
    def _fail(message: str, password: str, hint: str | None = None) -> NotifyError:
        return NotifyError(_scrub(f"e-mail: {message}", [password]), state="no e-mail was sent", hint=hint)


def _reply(exc: smtplib.SMTPException) -> str:
    code, text = getattr(exc, "smtp_code", None), getattr(exc, "smtp_error", None)
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return f"{code} {text}" if code else str(exc)


def _service_error(what: str, exc: Exception, hint: str) -> NotifyError:
    if isinstance(exc, oci.exceptions.ServiceError):
        return oci_failure(NotifyError, f"{what} failed", exc, hint)
    return NotifyError(f"{what} failed: {type(exc).__name__}: {exc}", hint=hint)


class EmailApiChannel:
    """The digest through Email Delivery's submission API (SubmitEmail), signed by the function's own identity:
    no SMTP credential to keep. The sender must be an approved sender of the compartment's region."""

    name = "email"

    def __init__(self, client, compartment_id: str, *, sender: str, recipients: Sequence[str]):
        self.client, self.compartment_id, self.sender, self.recipients = client, compartment_id, sender, recipients

    def send(self, digest: Digest) -> None:
        models = oci.email_data_plane.models
        details = models.SubmitEmailDetails(
            sender=models.Sender(sender_address=models.EmailAddress(email=self.sender),
                                 compartment_id=self.compartment_id),
            recipients=models.Recipients(to=[models.EmailAddress(email=r) for r in self.recipients]),
            subject=digest.title, body_text=digest.text, body_html=digest.html or None)
        try:
            self.client.submit_email(details)
        except API_ERRORS as exc:
            raise _service_error(f"e-mail: submitting the digest from {self.sender} through the Email Delivery API",
                                 exc, "make CERTMGR_MONITOR_EMAIL_FROM an approved sender in this region's Email "
                                      "Delivery, and check that the function may submit e-mail from it") from None


class TopicChannel:
    """The digest as one OCI Notifications message; subscriptions fan it out (e-mail, Slack, PagerDuty...)."""

    name = "notifications"

    def __init__(self, client: oci.ons.NotificationDataPlaneClient, topic_id: str):
        self.client, self.topic_id = client, topic_id

    def send(self, digest: Digest) -> None:
        title = digest.title[:255]
        body = fit(digest.text, TOPIC_MESSAGE_LIMIT - len(title.encode()))
        try:
            self.client.publish_message(self.topic_id, oci.ons.models.MessageDetails(title=title, body=body),
                                        message_type="RAW_TEXT")
        except API_ERRORS as exc:
            raise _service_error(f"notifications: publishing to topic {self.topic_id}", exc,
                                 "check CERTMGR_MONITOR_TOPIC_ID and that the function may 'use ons-topics'") \
                from None


class LogChannel:
    """One OCI Logging entry per certificate and run, whatever its severity: the complete record."""

    name = "logging"

    def __init__(self, client: oci.loggingingestion.LoggingClient, log_id: str):
        self.client, self.log_id = client, log_id

    def send(self, items: Sequence["Item"], at: dt.datetime) -> int:
        """Push every item; returns the number of entries written."""
        models = oci.loggingingestion.models
        written = 0
        for start in range(0, len(items), LOG_BATCH):
            chunk = items[start:start + LOG_BATCH]
            entries = [models.LogEntry(data=json.dumps(item.to_log()), id=str(uuid.uuid4()), time=at)
                       for item in chunk]
            batch = models.LogEntryBatch(entries=entries, source=LOG_SOURCE, type=LOG_TYPE,
                                         subject="certificate expiry", defaultlogentrytime=at)
            try:
                self.client.put_logs(self.log_id, models.PutLogsDetails(specversion="1.0",
                                                                        log_entry_batches=[batch]))
            except API_ERRORS as exc:
                raise _service_error(f"logging: writing to log {self.log_id} ({written} of {len(items)} "
                                     f"entries written)", exc,
                                     "check CERTMGR_MONITOR_LOG_ID and that the function may 'use log-content'") \
                    from None
            written += len(chunk)
        return written
