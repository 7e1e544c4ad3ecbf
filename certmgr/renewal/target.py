"""Where a certificate is deployed, chosen once from the config (`target_for`): LB certificate bundles that
listeners name, or a certificate of the OCI Certificates service that listeners reference by OCID
(CERTMGR_CERTIFICATE_NAME). `plan` asks the target which listeners are stale and whether the service must
import the certificate; `act` hands the deploy to the target, which calls the deployer's matching steps."""
from __future__ import annotations

from ..pki import CertInfo, same_serial
from ..settings.config import Config


class Bundles:
    """LB certificate bundles: one per certificate, named by `bundle_name`; a listener names its bundle."""

    imports = False  # a new certificate goes to the listeners with the deploy, nowhere first

    def __init__(self, config: Config):
        self.config = config

    def bundle_name(self, cert: CertInfo) -> str:
        return self.config.lb_certificate_name(cert.serial, cert.not_before)

    def stale(self, state, cert: CertInfo) -> tuple[str, ...]:
        """The listeners that do not serve `cert` (by the serial of their bundle, else by its name)."""
        name = self.bundle_name(cert)
        return tuple(l.name for l in state.listeners
                     if not (same_serial(l.serial, cert.serial) if l.serial else l.certificate_name == name))

    def not_held(self, state, cert: CertInfo) -> str | None:
        """Why the target does not hold `cert` apart from the listeners: bundles are uploaded with the deploy."""
        return None

    def deploy(self, deployer, leaf: CertInfo, pems: tuple[str, str, str], observed, planned) -> None:
        deployer.to_bundles(leaf, pems, [observed.listeners[n] for n in planned.listeners_to_update])


class ServiceCertificate:
    """A Certificates-service certificate (and its successors): a renewal is a new CURRENT version."""

    imports = True  # a new certificate is imported into the service before listeners reference it

    def __init__(self, config: Config):
        self.config = config

    def bundle_name(self, cert: CertInfo) -> str:  # bundles from before this target are cleaned up by name
        return self.config.lb_certificate_name(cert.serial, cert.not_before)

    def stale(self, state, cert: CertInfo) -> tuple[str, ...]:
        return tuple(l.name for l in state.listeners
                     if state.service_id is None or l.certificate_id != state.service_id)

    def not_held(self, state, cert: CertInfo) -> str | None:
        if state.service_id is None:
            return f"the Certificates service has no certificate {self.config.certificate_name}"
        if not same_serial(state.service_serial, cert.serial):
            return f"the Certificates service's {self.config.certificate_name} holds {state.service_serial} as CURRENT"
        return None

    def deploy(self, deployer, leaf: CertInfo, pems: tuple[str, str, str], observed, planned) -> None:
        deployer.to_service(leaf, pems, observed, planned)


def target_for(config: Config) -> Bundles | ServiceCertificate:
    return ServiceCertificate(config) if config.certificate_name else Bundles(config)
