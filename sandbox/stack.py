"""The whole sandbox in one object: start, seed a tenancy, describe it as env vars, stop.

Seeded: a compartment, public zone `example.com`, a vault and key, a load balancer with an HTTPS listener
`https` (a self-signed bootstrap certificate, a hostname, a rule set and connection settings that must
survive updates) and a plain HTTP listener `http` that must never be touched, a Notifications topic and
a Logging log, and SMTP credentials in Vault for the monitor.
"""
from __future__ import annotations

import base64
import datetime as dt
import os
import shlex
import shutil
import tempfile
from pathlib import Path

import oci
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .dns_server import DnsServer
from .oci import dns, loadbalancer, observability, vault
from .oci import email as email_delivery
from .oci.auth import ApiKey, new_rsa_key, pem_private
from .oci.server import OciServer
from .oci.world import World
from .pebble import Pebble
from .smtp import SmtpSink

DOMAIN = "example.com"
NAME_PREFIX = "sandbox"
ACME_EMAIL = "admin@example.com"
SMTP_USER = "ocid1.user.oc1..aaaaaaaasmtpuser@ocid1.tenancy.oc1..aaaaaaaasandbox.rb.com"
SMTP_SENDER = "certmgr@example.com"


def self_signed(name: str, days: int = 30) -> tuple[str, str]:
    """(certificate PEM, key PEM) of a self-signed bootstrap certificate, as an LB is first set up with."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def seed_web_load_balancer(lbs, compartment: str, domain: str, name: str = "certmgr-lb") -> str:
    """A load balancer as a web service has it: an `https` listener on a self-signed bootstrap certificate
    with a hostname, a rule set, connection and SSL settings (all of which must survive certmgr's updates),
    and a plain `http` listener that must never be touched."""
    cert_pem, key_pem = self_signed(domain)
    return lbs.add_load_balancer(
        compartment, name,
        certificates={"bootstrap": {"publicCertificate": cert_pem, "privateKey": key_pem}},
        hostnames={"app-host": domain},
        rule_sets={"hsts": [{"action": "ADD_HTTP_RESPONSE_HEADER", "header": "Strict-Transport-Security",
                             "value": "max-age=31536000"}]},
        listeners={
            "https": {"defaultBackendSetName": "app", "port": 443, "protocol": "HTTP",
                      "hostnameNames": ["app-host"], "ruleSetNames": ["hsts"],
                      "connectionConfiguration": {"idleTimeout": 120},
                      "sslConfiguration": {"certificateName": "bootstrap", "verifyPeerCertificate": False,
                                           "protocols": ["TLSv1.2", "TLSv1.3"],
                                           "cipherSuiteName": "oci-default-ssl-cipher-suite-v1",
                                           "serverOrderPreference": "ENABLED"}},
            "http": {"defaultBackendSetName": "app", "port": 80, "protocol": "HTTP"},
        })


class Sandbox:
    """Everything certmgr talks to, on 127.0.0.1 with ephemeral ports."""

    def __init__(self, workdir: str | os.PathLike | None = None, *, pebble: bool = True,
                 work_request_delay: float = 0.3):
        """`work_request_delay`: seconds each LB work request takes (the world option's starting value)."""
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="certmgr-sandbox-"))
        self.world = World()
        self.work_request_delay = self.world.options["work_request_delay"] = work_request_delay
        self.with_pebble = pebble
        self.server: OciServer | None = None
        self.dns_server: DnsServer | None = None
        self.pebble: Pebble | None = None
        self.smtp: SmtpSink | None = None
        self.env: dict[str, str] = {}
        self.oci_config: dict[str, str] = {}
        self.signer = None
        self.ids: dict[str, str] = {}

    @property
    def endpoint(self) -> str:
        """Base URL of the home region (every service shares it)."""
        return self.server.url

    def region_endpoint(self, region: str) -> str:
        return f"{self.server.url}/regions/{region}"

    def backend(self, module, region: str | None = None):
        return self.world.backend(module, region)

    def client(self, cls, region: str | None = None, **kwargs):
        """An SDK client of this sandbox (the home region by default), signing with the one API-key signer:
        loading an RSA key costs about 50 ms of CPU (cryptography checks it), so a client per check would
        dominate the test suite."""
        endpoint = self.region_endpoint(region) if region else self.endpoint
        return cls(dict(self.oci_config, region=region or self.oci_config["region"]), signer=self.signer,
                   service_endpoint=endpoint, **kwargs)

    def _write_api_key(self) -> None:
        key = ApiKey(self.world.tenancy_id, "ocid1.user.oc1..aaaaaaaasandboxuser" + os.urandom(8).hex(),
                     new_rsa_key())
        self.world.auth.add_api_key(key)
        key_file = self.workdir / "oci_api_key.pem"
        key_file.write_text(pem_private(key.private_key))
        config_file = self.workdir / "oci_config"
        config_file.write_text(f"[DEFAULT]\nuser={key.user}\nfingerprint={key.fingerprint}\n"
                               f"tenancy={key.tenancy}\nregion={self.world.home_region}\nkey_file={key_file}\n")
        for path in (key_file, config_file):
            path.chmod(0o600)
        self.oci_config = {"user": key.user, "fingerprint": key.fingerprint, "tenancy": key.tenancy,
                           "region": self.world.home_region, "key_file": str(key_file)}
        self.signer = oci.signer.Signer.from_config(self.oci_config)
        self.env.update(OCI_CONFIG_FILE=str(config_file), OCI_CLI_CONFIG_FILE=str(config_file))

    def _seed(self) -> None:
        world = self.world
        compartment = world.add_compartment("certmgr")
        zone_id = self.backend(dns).add_zone(DOMAIN, compartment)
        vault_id, key_id = self.backend(vault).add_vault(compartment, "certmgr-vault")
        lb_id = seed_web_load_balancer(self.backend(loadbalancer), compartment, DOMAIN)
        ons = self.backend(observability)
        self.backend(email_delivery).add_approved_sender(compartment, SMTP_SENDER)  # the API path's sender too
        topic_id = ons.add_topic(compartment, "certmgr-alerts")
        log_id = ons.add_log(compartment, "certmgr-monitor")
        secrets = self.backend(vault)
        smtp_ids = {}
        for role, value in (("username", SMTP_USER), ("password", self.smtp.password)):
            smtp_ids[role] = secrets.create_secret({
                "compartmentId": compartment, "vaultId": vault_id, "keyId": key_id,
                "secretName": f"smtp-{role}",
                "secretContent": {"contentType": "BASE64", "content": base64.b64encode(value.encode()).decode()},
            }).id
        self.ids = dict(compartment=compartment, zone=zone_id, vault=vault_id, key=key_id, lb=lb_id,
                        topic=topic_id, log=log_id)
        self.env.update(
            CERTMGR_DOMAIN=f"{DOMAIN},*.{DOMAIN}", CERTMGR_DNS_ZONE_ID=zone_id, CERTMGR_LB_ID=lb_id,
            CERTMGR_VAULT_ID=vault_id, CERTMGR_VAULT_KEY_ID=key_id, CERTMGR_COMPARTMENT_ID=compartment,
            CERTMGR_ACME_EMAIL=ACME_EMAIL, CERTMGR_NAME_PREFIX=NAME_PREFIX,
            CERTMGR_MONITOR_TOPIC_ID=topic_id, CERTMGR_MONITOR_LOG_ID=log_id,
            CERTMGR_MONITOR_LB_IDS=lb_id, CERTMGR_MONITOR_SMTP_HOST=self.smtp.host,
            CERTMGR_MONITOR_SMTP_PORT=str(self.smtp.port), CERTMGR_MONITOR_SMTP_CA_BUNDLE=str(self.smtp.ca_bundle),
            CERTMGR_MONITOR_EMAIL_FROM=SMTP_SENDER, CERTMGR_MONITOR_EMAIL_TO="platform@example.com",
            CERTMGR_MONITOR_SMTP_USERNAME_SECRET=smtp_ids["username"],
            CERTMGR_MONITOR_SMTP_PASSWORD_SECRET=smtp_ids["password"],
            SANDBOX_LB_HTTPS=self.backend(loadbalancer).listener_address(lb_id, "https"),
            SANDBOX_SMTP=self.smtp.address)

    def start(self) -> "Sandbox":
        try:
            self.server = OciServer(self.world).start()
            self._write_api_key()
            self.dns_server = DnsServer(self.backend(dns).lookup).start()
            self.smtp = SmtpSink(SMTP_USER, base64.urlsafe_b64encode(os.urandom(18)).decode(),
                                 approved_senders={SMTP_SENDER}, workdir=self.workdir / "smtp").start()
            self.world.mailbox, self.world.post_office = self.smtp.to_json, self.smtp.deliver
            self._seed()
            self.env.update(CERTMGR_OCI_ENDPOINT=f"{self.endpoint}/regions/{{region}}",
                            SANDBOX_OCI_ENDPOINT=self.endpoint, SANDBOX_CONTROL=f"{self.endpoint}/_control",
                            CERTMGR_DNS_NAMESERVERS=self.dns_server.address, SANDBOX_DNS=self.dns_server.address)
            if self.with_pebble:
                # Authorization reuse off (Pebble still reuses ~1% within one account; a new account never
                # does), so orders answer their challenges as on a first issuance.
                self.pebble = Pebble(dns_server=self.dns_server.address, workdir=self.workdir / "pebble",
                                     env={"PEBBLE_AUTHZREUSE": "0"}).start()
                self.env.update(CERTMGR_ACME_DIRECTORY=self.pebble.directory_url,
                                CERTMGR_ACME_CA_BUNDLE=str(self.pebble.ca_bundle),
                                SANDBOX_ACME_ROOT=str(self.pebble.root_pem))
        except BaseException:
            self.stop()
            raise
        return self

    def reset(self) -> None:
        """Back to the freshly seeded tenancy, without restarting anything: the world is reset (every
        backend emptied, no calls, no faults) and seeded again, with new OCIDs in `ids` and `env`."""
        self.world.reset()
        self.world.options["work_request_delay"] = self.work_request_delay
        self._seed()

    def stop(self) -> None:
        for part in (self.pebble, self.smtp, self.dns_server):
            if part:
                part.stop()
        if self.server:
            for _, backend in self.world.backends():
                getattr(backend, "close", lambda: None)()
            self.server.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def write_env_file(self, path: str | os.PathLike) -> None:
        """Written whole or not at all (a rename), so a shell waiting for the file never reads half of it."""
        lines = [f"export {name}={shlex.quote(value)}" for name, value in sorted(self.env.items())]
        partial = Path(f"{path}.partial")
        partial.write_text("\n".join(lines) + "\n")
        partial.replace(path)

    def summary(self, startup_seconds: float | None = None) -> str:
        took = f" in {startup_seconds:.2f}s" if startup_seconds is not None else ""
        return "\n".join([
            f"sandbox up{took}",
            f"  OCI API      {self.endpoint}  (control: {self.env['SANDBOX_CONTROL']})",
            f"  DNS          {self.dns_server.address}  zone {DOMAIN}",
            f"  ACME         {self.env.get('CERTMGR_ACME_DIRECTORY', '(no pebble)')}",
            f"  LB https     {self.env['SANDBOX_LB_HTTPS']}",
            f"  SMTP         {self.smtp.address}",
        ])

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
