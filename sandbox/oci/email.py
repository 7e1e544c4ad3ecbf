"""Email Delivery's submission API (`/20220926`): SubmitEmail, which real OCI serves on
`cell0.submit.email.<region>`. The sender must be an approved sender of the sender's compartment in the
region (approved senders are regional: the Email Delivery guide's "Creating an Approved Sender"); the
message is built as a MIME message (text and HTML as multipart/alternative) and handed to the sandbox's mail
sink (`World.post_office`), where tests read it as they read mail submitted by SMTP.

**Unknown**: the status and code OCI answers for a sender that is not approved; 400 `InvalidParameter` is
chosen, and certmgr reports any refusal the same way (the sender, and what to check).
"""
from __future__ import annotations

import email.utils
import sys
import uuid
from email.message import EmailMessage

import oci

from .errors import InvalidParameter, MissingParameter
from .world import Resettable
from .http import Reply, Request, Route, wire

API = "/20220926"


class Backend(Resettable):
    """Approved senders (compartment, address) of one region, and what was submitted when no sink is set."""

    def __init__(self, world, region):
        self.world, self.region = world, region
        self.approved: set[tuple[str, str]] = set()
        self.submitted: list[EmailMessage] = []

    def add_approved_sender(self, compartment_id: str, address: str) -> None:
        with self.world.lock:
            self.world.check_compartment(compartment_id)
            self.approved.add((compartment_id, address.lower()))

    def snapshot(self) -> dict:
        return {"approvedSenders": sorted(address for _, address in self.approved), "submitted": len(self.submitted)}


def _addresses(items) -> list[str]:
    return [email.utils.formataddr((i.get("name") or "", i["email"])) for i in items or () if i.get("email")]


def submit_email(req: Request) -> Reply:
    body = req.details("SubmitEmailDetails", oci.email_data_plane.models)
    sender = body.get("sender") or {}
    address, compartment = (sender.get("senderAddress") or {}).get("email"), sender.get("compartmentId")
    if not address or not compartment:
        raise MissingParameter("sender.senderAddress.email and sender.compartmentId are required")
    recipients = body.get("recipients") or {}
    to, cc, bcc = (_addresses(recipients.get(kind)) for kind in ("to", "cc", "bcc"))
    if not (to or cc or bcc):
        raise MissingParameter("recipients must name at least one address")
    if not body.get("subject") or not (body.get("bodyText") or body.get("bodyHtml")):
        raise MissingParameter("subject and bodyText or bodyHtml are required")
    backend = req.world.backend(sys.modules[__name__], req.region)
    if (compartment, address.lower()) not in backend.approved:
        raise InvalidParameter(f"Sender {address} is not an approved sender of compartment {compartment} in "
                               f"{req.region}")
    message = EmailMessage()
    message["From"] = email.utils.formataddr(((sender.get("senderAddress") or {}).get("name") or "", address))
    for header, value in (("To", to), ("Cc", cc)):
        if value:
            message[header] = ", ".join(value)
    message["Subject"] = body["subject"]
    message["Date"] = email.utils.formatdate(usegmt=True)
    message_id = body.get("messageId") or f"{uuid.uuid4().hex}@submit.email.{req.region}.oci.oraclecloud.com"
    message["Message-ID"] = f"<{message_id}>"
    message.set_content(body.get("bodyText") or "")
    if body.get("bodyHtml"):
        message.add_alternative(body["bodyHtml"], subtype="html")
    envelope = [email.utils.parseaddr(a)[1] for a in to + cc + bcc]
    deliver = getattr(req.world, "post_office", None)
    if deliver:
        deliver(address, envelope, message)
    else:
        with req.world.lock:
            backend.submitted.append(message)
    models = oci.email_data_plane.models
    return Reply(200, wire(models.EmailSubmittedResponse(message_id=message_id, envelope_id=uuid.uuid4().hex,
                                                         suppressed_recipients=[])))


ROUTES = [Route("POST", f"{API}/actions/submitEmail", "email.submit_email", submit_email)]
CONTROL_ROUTES = []
