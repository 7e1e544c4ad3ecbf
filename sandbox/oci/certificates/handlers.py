"""The Certificates service's HTTP side: management (`CertificatesManagementClient`) and retrieval
(`CertificatesClient`) handlers, the control knob, and the routes."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys

from ..errors import (BY_STATUS, shown, Conflict, IncorrectState, InternalServerError, InvalidParameter,
                      MissingParameter, NotAuthorizedOrNotFound, PreconditionFailed)
from ..http import Reply, Request, Route, now, page, wire
from .backend import Backend
from .models import API, CM, CR, STAGE_ORDER, Certificate, Material, Version, parse_material

def _backend(req: Request) -> Backend:
    return req.backend(sys.modules[__package__])


def _check_etag(req: Request, cert: Certificate) -> None:
    expected = req.headers.get("if-match")
    if expected and expected != cert.etag:
        raise PreconditionFailed(f"The If-Match etag {expected!r} does not match the certificate's etag")


def _mutable(cert: Certificate) -> None:
    state = cert.lifecycle_state()
    if state != "ACTIVE":
        raise IncorrectState(f"Certificate {cert.id} is {state}; it can only be changed while ACTIVE")


def _with_etag(cert: Certificate, state: str | None = None) -> Reply:
    """The certificate and its etag, as create / get / update answer."""
    return Reply(200, wire(cert.model(state)), {"etag": cert.etag})


def create_certificate(req: Request) -> Reply:
    b, body = _backend(req), req.details("CreateCertificateDetails", CM)
    token = req.headers.get("opc-retry-token")
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    if token and token in b.retry_tokens:
        seen_digest, cert_id = b.retry_tokens[token]
        if seen_digest != digest:
            raise Conflict("The opc-retry-token was already used for a different request")
        cert = b.get(cert_id)
        return _with_etag(cert)
    for name in ("name", "compartmentId", "certificateConfig"):
        if not body.get(name):
            raise MissingParameter(f"{name} is required")
    config = body["certificateConfig"]
    if config.get("configType") != "IMPORTED":
        raise InvalidParameter(f"certificateConfig.configType {shown(config.get('configType'))} is not supported "
                               f"by this endpoint; use IMPORTED")
    cert = b.create(body["compartmentId"], body["name"], parse_material(config), config.get("versionName"),
                    body.get("description"), body.get("freeformTags"), body.get("definedTags"))
    if token:
        b.retry_tokens[token] = (digest, cert.id)
    return _with_etag(cert, "CREATING")


def get_certificate(req: Request) -> Reply:
    cert = _backend(req).get(req.params["certificateId"])
    return _with_etag(cert)


def update_certificate(req: Request) -> Reply:
    b, body = _backend(req), req.details("UpdateCertificateDetails", CM)
    cert = b.get(req.params["certificateId"])
    _check_etag(req, cert)
    _mutable(cert)
    config, promote = body.get("certificateConfig"), body.get("currentVersionNumber")
    if config and promote is not None:
        raise InvalidParameter("Set either certificateConfig or currentVersionNumber, not both")
    if config:
        if config.get("configType") != "IMPORTED":
            raise InvalidParameter("An imported certificate can only be updated with configType IMPORTED")
        stage = config.get("stage") or "CURRENT"
        if stage not in ("CURRENT", "PENDING"):
            raise InvalidParameter("certificateConfig.stage must be CURRENT or PENDING")
        b.add_version(cert, parse_material(config), config.get("versionName"), stage)
    elif promote is not None:
        version = b.version(cert, promote)
        if "DEPRECATED" in version.stages:  # "You can't make a certificate version marked as deprecated the current"
            raise InvalidParameter(f"Version {promote} of certificate {cert.id} is DEPRECATED and cannot be made "
                                   "CURRENT")
        b.make_current(cert, version)
    for key, attr in (("description", "description"), ("freeformTags", "freeform_tags"),
                      ("definedTags", "defined_tags")):
        if body.get(key) is not None:
            setattr(cert, attr, body[key])
    cert.touch("UPDATING", b.busy_seconds())
    return _with_etag(cert, "UPDATING")


def list_certificates(req: Request) -> Reply:
    b = _backend(req)
    compartment, certificate_id = req.arg("compartmentId"), req.arg("certificateId")
    if not compartment and not certificate_id:
        raise MissingParameter("compartmentId or certificateId is required")
    if compartment:
        req.world.check_compartment(compartment)
    filters = {"compartment_id": compartment, "id": certificate_id, "name": req.arg("name")}
    items = [c for c in b.all() if all(v is None or getattr(c, k) == v for k, v in filters.items())
             and req.arg("lifecycleState") in (None, c.lifecycle_state())
             and req.arg("issuerCertificateAuthorityId") is None]
    keys = {"NAME": lambda c: c.name, "TIMECREATED": lambda c: c.time_created,
            "EXPIRATIONDATE": lambda c: c.current().material.not_after}
    by = req.arg("sortBy", "TIMECREATED")
    if by not in keys:
        raise InvalidParameter(f"sortBy must be one of {sorted(keys)}")
    order = req.arg("sortOrder", "DESC" if by == "TIMECREATED" else "ASC")
    if order not in ("ASC", "DESC"):
        raise InvalidParameter("sortOrder must be ASC or DESC")
    chunk, headers = page(req, sorted(items, key=keys[by], reverse=order == "DESC"))
    return Reply(200, wire(CM.CertificateCollection(items=[c.summary() for c in chunk])), headers)


def _sorted_versions(req: Request, versions: list[Version]) -> list[Version]:
    if req.arg("sortBy", "VERSION_NUMBER") != "VERSION_NUMBER":
        raise InvalidParameter("sortBy must be VERSION_NUMBER")
    order = req.arg("sortOrder", "ASC")
    if order not in ("ASC", "DESC"):
        raise InvalidParameter("sortOrder must be ASC or DESC")
    return sorted(versions, key=lambda v: v.number, reverse=order == "DESC")


def list_certificate_versions(req: Request) -> Reply:
    cert = _backend(req).get(req.params["certificateId"])
    number = req.int_arg("versionNumber")
    versions = [v for v in cert.versions if number in (None, v.number)]
    chunk, headers = page(req, _sorted_versions(req, versions))
    return Reply(200, wire(CM.CertificateVersionCollection(items=[v.model(cert.id) for v in chunk])), headers)


def get_certificate_version(req: Request) -> Reply:
    b = _backend(req)
    cert = b.get(req.params["certificateId"])
    number = req.params["certificateVersionNumber"]
    if not number.isdigit():
        raise InvalidParameter(f"certificateVersionNumber must be a number, got {number!r}")
    return Reply(200, wire(b.version(cert, int(number)).model(cert.id, CM.CertificateVersion)))


def schedule_certificate_deletion(req: Request) -> Reply:
    b = _backend(req)
    cert = b.get(req.params["certificateId"])
    _check_etag(req, cert)
    _mutable(cert)
    users = b.users(cert)
    if users:
        raise Conflict(f"Certificate {cert.id} is associated with {', '.join(users)}; remove the associations "
                       "before deleting it")
    cert.time_of_deletion = _deletion_time(req.details("ScheduleCertificateDeletionDetails", CM))
    cert.state = "PENDING_DELETION"
    cert.touch()
    return Reply(200, None, {"etag": cert.etag})


def _deletion_time(details: dict) -> dt.datetime:
    when = details.get("timeOfDeletion")
    try:
        return dt.datetime.fromisoformat(when.replace("Z", "+00:00")) if when else now() + dt.timedelta(days=30)
    except (AttributeError, ValueError):
        raise InvalidParameter(f"timeOfDeletion {when!r} is not an RFC 3339 time") from None


def schedule_certificate_version_deletion(req: Request) -> Reply:
    b = _backend(req)
    cert = b.get(req.params["certificateId"])
    _check_etag(req, cert)
    _mutable(cert)
    number = req.params["certificateVersionNumber"]
    version = b.version(cert, int(number) if number.isdigit() else -1)
    if version.stages != ["DEPRECATED"]:
        raise IncorrectState(f"Version {version.number} of certificate {cert.id} is {', '.join(version.stages)}; "
                             "only a DEPRECATED version can be scheduled for deletion")
    if version.time_of_deletion is None:
        version.time_of_deletion = _deletion_time(req.details("ScheduleCertificateVersionDeletionDetails", CM))
    cert.touch()
    return Reply(200, None, {"etag": cert.etag})


def cancel_certificate_deletion(req: Request) -> Reply:
    cert = _backend(req).get(req.params["certificateId"])
    _check_etag(req, cert)
    if cert.state != "PENDING_DELETION":
        raise IncorrectState(f"Certificate {cert.id} is not pending deletion")
    cert.state, cert.time_of_deletion = "ACTIVE", None
    cert.touch()
    return Reply(200, None, {"etag": cert.etag})


def _select_version(req: Request, cert: Certificate) -> Version:
    """The version named by versionNumber / certificateVersionName / stage; CURRENT when none is given."""
    number = req.int_arg("versionNumber", 0)
    name, stage = req.arg("certificateVersionName"), req.arg("stage")
    if stage and stage not in STAGE_ORDER + ("PENDING_ACTIVATION", "FAILED"):
        raise InvalidParameter(f"Invalid stage {stage!r}")
    if not (number or name or stage):
        stage = "CURRENT"
    for v in cert.versions:
        if (not number or v.number == number) and (not name or v.name == name) and (not stage or stage in v.stages):
            return v
    raise NotAuthorizedOrNotFound(f"No version of certificate {cert.id} matches the request")


def _validity(material: Material):
    return CR.Validity(time_of_validity_not_before=material.not_before,
                       time_of_validity_not_after=material.not_after)


def get_certificate_bundle(req: Request) -> Reply:
    cert = _backend(req).get(req.params["certificateId"])
    if cert.bundle_error:
        error = BY_STATUS.get(cert.bundle_error, InternalServerError)(
            f"Certificate bundle of {cert.id} could not be read")
        error.status = cert.bundle_error
        raise error
    bundle_type = req.arg("certificateBundleType", "CERTIFICATE_CONTENT_PUBLIC_ONLY")
    if bundle_type not in ("CERTIFICATE_CONTENT_PUBLIC_ONLY", "CERTIFICATE_CONTENT_WITH_PRIVATE_KEY"):
        raise InvalidParameter(f"Invalid certificateBundleType {bundle_type!r}")
    v = _select_version(req, cert)
    fields = dict(certificate_id=cert.id, certificate_name=cert.name, version_number=v.number,
                  serial_number=v.material.serial, certificate_pem=v.material.cert_pem,
                  cert_chain_pem=v.material.chain_pem, time_created=v.time_created,
                  validity=_validity(v.material), version_name=v.name, stages=list(v.stages))
    if bundle_type == "CERTIFICATE_CONTENT_WITH_PRIVATE_KEY":
        bundle = CR.CertificateBundleWithPrivateKey(private_key_pem=v.material.key_pem,
                                                    private_key_pem_passphrase=v.material.passphrase, **fields)
    else:
        bundle = CR.CertificateBundlePublicOnly(**fields)
    return Reply(200, wire(bundle))


def list_certificate_bundle_versions(req: Request) -> Reply:
    cert = _backend(req).get(req.params["certificateId"])
    items = [CR.CertificateBundleVersionSummary(
        certificate_id=cert.id, serial_number=v.material.serial, version_name=v.name, certificate_name=cert.name,
        version_number=v.number, time_created=v.time_created, validity=_validity(v.material),
        stages=list(v.stages)) for v in _sorted_versions(req, cert.versions)]
    return Reply(200, wire(CR.CertificateBundleVersionCollection(items=items)))


def _control_break(req: Request) -> Reply:
    """`{"status": 500}` makes the bundle of that certificate fail; `{"status": null}` repairs it."""
    certificate_id = req.params["certificateId"]
    region = certificate_id.split(".")[3] if certificate_id.count(".") >= 4 else ""
    if region not in req.world.regions:
        raise NotAuthorizedOrNotFound(f"Certificate {certificate_id} not found")
    status = req.json().get("status", 500)
    req.world.backend(sys.modules[__package__], region).break_bundle(certificate_id, status)
    return Reply(200, {"certificateId": certificate_id, "status": status})


CERT = f"{API}/certificates/{{certificateId}}"


BUNDLE = f"{API}/certificateBundles/{{certificateId}}"


ROUTES = [
    Route("POST", f"{API}/certificates", "certificates_management.create_certificate", create_certificate),
    Route("GET", f"{API}/certificates", "certificates_management.list_certificates", list_certificates),
    Route("GET", CERT, "certificates_management.get_certificate", get_certificate),
    Route("PUT", CERT, "certificates_management.update_certificate", update_certificate),
    Route("GET", f"{CERT}/versions", "certificates_management.list_certificate_versions",
          list_certificate_versions),
    Route("GET", f"{CERT}/version/{{certificateVersionNumber}}", "certificates_management.get_certificate_version",
          get_certificate_version),
    Route("POST", f"{CERT}/actions/scheduleDeletion", "certificates_management.schedule_certificate_deletion",
          schedule_certificate_deletion),
    Route("POST", f"{CERT}/version/{{certificateVersionNumber}}/actions/scheduleDeletion",
          "certificates_management.schedule_certificate_version_deletion", schedule_certificate_version_deletion),
    Route("POST", f"{CERT}/actions/cancelDeletion", "certificates_management.cancel_certificate_deletion",
          cancel_certificate_deletion),
    Route("GET", BUNDLE, "certificates.get_certificate_bundle", get_certificate_bundle),
    Route("GET", f"{BUNDLE}/versions", "certificates.list_certificate_bundle_versions",
          list_certificate_bundle_versions),
]


CONTROL_ROUTES = [
    Route("POST", "/_control/certificates/{certificateId}/break", "control.certificates.break", _control_break),
]
