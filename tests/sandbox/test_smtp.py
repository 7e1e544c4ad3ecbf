"""The Email Delivery stand-in, driven by smtplib exactly as a mail-sending client would."""
import smtplib
import ssl
from email.message import EmailMessage

import pytest
import requests

from sandbox.smtp import SmtpSink

USER, PASSWORD = "ocid1.user.oc1..aaaaaaaasmtp@ocid1.tenancy.oc1..aaaaaaaa.xx.com", "s3cret-smtp"
SENDER = "certificatcher@example.test"


@pytest.fixture(scope="module")
def sink():
    with SmtpSink(USER, PASSWORD, approved_senders={SENDER}) as running:
        yield running


@pytest.fixture
def smtp(sink):
    """A connection that has done STARTTLS, verifying the sink's certificate, but not logged in."""
    host, port = sink.address.rsplit(":", 1)
    with smtplib.SMTP(host, int(port), timeout=5) as connection:
        connection.starttls(context=ssl.create_default_context(cafile=str(sink.ca_bundle)))
        yield connection
    sink.clear()


def message(sender: str = SENDER) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, "ops@example.test", "Certificate expires in 7 days"
    mail.set_content("www.example.test expires on 2026-12-01.")
    return mail


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_starttls_login_and_send_is_captured(sink, smtp, mechanism):
    smtp.ehlo()
    smtp.user, smtp.password = USER, PASSWORD
    smtp.auth(mechanism, getattr(smtp, f"auth_{mechanism.lower()}"))
    smtp.send_message(message(), to_addrs=["ops@example.test", "sre@example.test"])

    [mail] = sink.messages
    assert mail.mail_from == SENDER
    assert mail.rcpt_tos == ["ops@example.test", "sre@example.test"]
    assert mail.message["Subject"] == "Certificate expires in 7 days"
    assert "2026-12-01" in mail.message.get_content()


def test_wrong_password_is_535(smtp):
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        smtp.login(USER, "wrong")
    assert refused.value.smtp_code == 535
    assert b"Authentication credentials invalid" in refused.value.smtp_error


def test_without_starttls_nothing_but_starttls_is_allowed(sink):
    host, port = sink.address.rsplit(":", 1)
    with smtplib.SMTP(host, int(port), timeout=5) as plain:
        plain.ehlo()
        assert plain.has_extn("starttls")
        code, reply = plain.docmd("AUTH", "PLAIN")
        assert code == 530 and b"STARTTLS" in reply
        code, _ = plain.docmd("MAIL", f"FROM:<{SENDER}>")
        assert code == 530
    assert sink.messages == []


def test_sending_without_login_is_refused(sink, smtp):
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        smtp.send_message(message())
    assert refused.value.smtp_code == 530
    assert sink.messages == []


def test_unapproved_envelope_sender_is_refused(sink, smtp):
    smtp.login(USER, PASSWORD)
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        smtp.send_message(message("someone@example.test"))
    assert refused.value.smtp_code == 550
    assert sink.messages == []


def test_unapproved_from_header_is_refused(sink, smtp):
    smtp.login(USER, PASSWORD)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        smtp.send_message(message("someone@example.test"), from_addr=SENDER)
    assert refused.value.smtp_code == 550
    assert sink.messages == []


def test_certificate_names_the_loopback_address(sink):
    host, port = sink.address.rsplit(":", 1)
    with smtplib.SMTP(host, int(port), timeout=5) as connection:
        with pytest.raises(ssl.SSLCertVerificationError):
            connection.starttls(context=ssl.create_default_context())  # system roots do not trust it


def test_the_stacks_mails_are_read_at_the_control_endpoint(sandbox):
    """`GET $SANDBOX_CONTROL/mails`: what the sandbox's sink accepted, for a person trying the monitor."""
    host, port = sandbox.smtp.address.rsplit(":", 1)
    with smtplib.SMTP(host, int(port), timeout=5) as connection:
        connection.starttls(context=ssl.create_default_context(cafile=str(sandbox.smtp.ca_bundle)))
        connection.login(sandbox.smtp.username, sandbox.smtp.password)
        connection.send_message(message(sender="certmgr@example.com"), to_addrs=["ops@example.test"])
    mails = requests.get(f"{sandbox.endpoint}/_control/mails", timeout=5).json()
    last = mails[-1]
    assert (last["from"], last["to"], last["subject"]) == ("certmgr@example.com", ["ops@example.test"],
                                                           "Certificate expires in 7 days")
    assert last["body"] == "www.example.test expires on 2026-12-01.\n"
