"""An OCI Email Delivery stand-in: an SMTP submission server that keeps what it accepts.

It enforces what the real endpoint (smtp.email.<region>.oci.oraclecloud.com:587) enforces on a client:
STARTTLS before anything else, AUTH PLAIN/LOGIN with the SMTP credentials, and only approved senders,
in the envelope and in the From header.
"""
from __future__ import annotations

import email
import email.policy
import email.utils
import shutil
import socket
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True)
class Mail:
    """One accepted message with its SMTP envelope."""
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage = field(repr=False)


def _not_approved(address: str, where: str = "Envelope From") -> str:
    return f"550 5.7.1 {where} address {address} not authorized: not an approved sender"


class _BoundController(Controller):
    """aiosmtpd's threaded Controller on a socket bound beforehand, so port 0 works without a race."""

    def __init__(self, handler, sock: socket.socket, **kwargs):
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._sock = sock

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


class SmtpSink:
    """Accepts mail only as Email Delivery would, and records it for tests to read.

    `ca_bundle` is the PEM of the CA that signed the STARTTLS certificate (for 127.0.0.1 and localhost).
    """

    def __init__(self, username: str, password: str, host: str = "127.0.0.1", port: int = 0, *,
                 approved_senders: set[str] | frozenset[str] = frozenset(), workdir=None):
        self.username, self.password = username, password
        self.host, self.port = host, port
        self.approved_senders = {sender.lower() for sender in approved_senders}
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="smtp-sink-"))
        self.ca_bundle = self.workdir / "smtp-ca.pem"
        self._messages: list[Mail] = []
        self._lock = threading.Lock()
        self._controller: _BoundController | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def messages(self) -> list[Mail]:
        with self._lock:
            return list(self._messages)

    def to_json(self) -> list[dict]:
        """Each accepted mail: envelope, headers and plain-text body (what `GET /_control/mails` answers)."""
        def text(message: EmailMessage) -> str:
            body = message.get_body(("plain",))
            return body.get_content().replace("\r\n", "\n") if body is not None else ""
        return [{"from": m.mail_from, "to": m.rcpt_tos, "subject": m.message["Subject"], "date": m.message["Date"],
                 "body": text(m.message)} for m in self.messages]

    def deliver(self, mail_from: str, rcpt_tos: list[str], message: EmailMessage) -> None:
        """Keep a message submitted another way (Email Delivery's API) as if it had come by SMTP."""
        with self._lock:
            self._messages.append(Mail(mail_from, list(rcpt_tos), message))

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def start(self) -> "SmtpSink":
        sock = socket.create_server((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._controller = _BoundController(
            self, sock, tls_context=self._tls_context(), require_starttls=True,
            auth_required=True, auth_require_tls=True, authenticator=self._authenticate)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller:
            self._controller.stop()
            self._controller = None
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "SmtpSink":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _tls_context(self) -> ssl.SSLContext:
        ca = trustme.CA(organization_name="certmgr sandbox SMTP")
        self.workdir.mkdir(parents=True, exist_ok=True)
        ca.cert_pem.write_to_path(str(self.ca_bundle))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        return context

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        """aiosmtpd answers a failed result with "535 5.7.8 Authentication credentials invalid"."""
        valid = (isinstance(auth_data, LoginPassword)
                 and auth_data.login == self.username.encode()
                 and auth_data.password == self.password.encode())
        return AuthResult(success=valid, handled=False)

    def _approved(self, address: str) -> bool:
        return address.lower() in self.approved_senders

    # aiosmtpd handler hooks

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if not self._approved(address):
            return _not_approved(address)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        for _, sender in email.utils.getaddresses(message.get_all("From", [])):
            if not self._approved(sender):
                return _not_approved(sender, "From header")
        with self._lock:
            self._messages.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"
